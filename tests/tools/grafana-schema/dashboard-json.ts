// The type a dashboard JSON file must have, from @grafana/schema's published TypeScript types.
// JSON cannot name a TypeScript enum member, only its value: Json<T> turns each string enum
// into the union of its values ("absolute" for ThresholdsMode.Absolute), keeping everything
// else (required keys, unions, numeric enums, no unknown keys in object literals) as it is.
// A panel's options and custom field config are checked against its plugin's own types
// (by its "type"), each key optional as in a saved dashboard, where Grafana fills defaults.
import type { Dashboard, Panel } from '@grafana/schema';
import type { Options as BarGaugeOptions } from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type { Options as GaugeOptions } from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type { FieldConfig as HeatmapFieldConfig, Options as HeatmapOptions } from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type { Options as StatOptions } from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type { FieldConfig as TableFieldConfig, Options as TableOptions } from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type { FieldConfig as TimeSeriesFieldConfig, Options as TimeSeriesOptions } from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

type Json<T> = T extends string
  ? `${T}`
  : T extends readonly (infer Item)[]
    ? Json<Item>[]
    : T extends object
      ? { [Key in keyof T]: Json<T[Key]> }
      : T;

type Saved<T> = T extends string
  ? `${T}`
  : T extends readonly (infer Item)[]
    ? Saved<Item>[]
    : T extends object
      ? { [Key in keyof T]?: Saved<T[Key]> }
      : T;

// Panel types this kit's dashboards use: a new one must be added here to be checked.
interface PanelPlugins {
  bargauge: { options: BarGaugeOptions; custom: Record<string, never> };
  gauge: { options: GaugeOptions; custom: Record<string, never> };
  heatmap: { options: HeatmapOptions; custom: HeatmapFieldConfig };
  stat: { options: StatOptions; custom: Record<string, never> };
  table: { options: TableOptions; custom: TableFieldConfig };
  timeseries: { options: TimeSeriesOptions; custom: TimeSeriesFieldConfig };
}

type PanelJson = {
  [Kind in keyof PanelPlugins]: Omit<Json<Panel>, 'type' | 'options' | 'fieldConfig'> & {
    type: Kind;
    options?: Saved<PanelPlugins[Kind]['options']>;
    fieldConfig?: Omit<Json<NonNullable<Panel['fieldConfig']>>, 'defaults'> & {
      defaults: Omit<Json<NonNullable<Panel['fieldConfig']>['defaults']>, 'custom'> & {
        custom?: Saved<PanelPlugins[Kind]['custom']>;
      };
    };
  };
}[keyof PanelPlugins];

export type DashboardJson = Omit<Json<Dashboard>, 'panels'> & { panels?: PanelJson[] };
