// gitlab-ci-local 4.75 calls Set.prototype.union (Node 22); Node 20, Debian's and this
// machine's, lacks it. Loaded with `node --import` before gitlab-ci-local; a no-op on Node 22+.
if (typeof Set.prototype.union !== "function") {
  Object.defineProperty(Set.prototype, "union", {
    value: function union(other) {
      const result = new Set(this);
      for (const value of other.keys()) result.add(value);
      return result;
    },
    writable: true,
    configurable: true,
  });
}
