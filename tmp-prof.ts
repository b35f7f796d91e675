import { runStack } from "./test/support";
(async () => {
  await runStack("prod");
  const t = process.hrtime.bigint();
  for (let i = 0; i < 10; i++) await runStack(i % 2 ? "prod" : "staging");
  console.log(Number(process.hrtime.bigint() - t) / 1e7, "ms/run");
  try { await runStack("prod", { config: { "platform-secrets:nonsense": 1 } as any }); } catch (e) { console.log(String((e as Error).stack).split("\n").slice(0,3).join("\n")); }
})();
