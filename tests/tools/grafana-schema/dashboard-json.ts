// The type a dashboard JSON file must have, from @grafana/schema's published TypeScript types.
// JSON cannot name a TypeScript enum member, only its value: Json<T> turns each string enum
// into the union of its values ("absolute" for ThresholdsMode.Absolute), keeping everything
// else (required keys, unions, numeric enums, no unknown keys in object literals) as it is.
import type { Dashboard } from '@grafana/schema';

type Json<T> = T extends string
  ? `${T}`
  : T extends readonly (infer Item)[]
    ? Json<Item>[]
    : T extends object
      ? { [Key in keyof T]: Json<T[Key]> }
      : T;

export type DashboardJson = Json<Dashboard>;
