/// <reference path="./.sst/platform/config.d.ts" />
// The SST app: everything of substance is in infra/ (topology.ts holds the wiring as data).
export default $config({
  app(input) {
    const prod = input?.stage === "prod";
    return {
      name: "reelpress",
      home: "aws",
      // A production library outlives `sst remove`: the stage is protected and its bucket is kept.
      removal: prod ? "retain" : "remove",
      protect: prod,
      providers: { aws: "6.66.2" },
    };
  },
  async run() {
    const { deploy } = await import("./infra/deploy.ts");
    return deploy();
  },
});
