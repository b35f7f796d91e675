/**
 * What CI needs to reach one stack's cloud, read from the stack file (settings, never the stack's
 * name), as `key=value` lines for $GITHUB_OUTPUT:
 *
 *   node --import tsx tools/ci/stackSettings.ts --stack prod >> "$GITHUB_OUTPUT"
 *
 * region (AWS), cluster (EKS cluster name) and context (the kubeconfig context the Kubernetes
 * provider selects). None of them is secret.
 */
import { parseArgs } from "node:util";
import { projectName, readStackConfig } from "../harness/stackConfig";

export interface StackAccess {
    region: string;
    cluster: string;
    context: string;
}

export function stackAccess(stack: string): StackAccess {
    const config = readStackConfig(stack);
    const aws = config[`${projectName}:aws`] as { region?: string; eks?: { clusterName?: string } } | undefined;
    const kubernetes = config[`${projectName}:kubernetes`] as { context?: string } | undefined;
    const settings = { region: aws?.region, cluster: aws?.eks?.clusterName, context: kubernetes?.context };
    for (const [key, value] of Object.entries(settings)) {
        if (typeof value !== "string" || !/^[A-Za-z0-9._-]+$/.test(value)) throw new Error(`Pulumi.${stack}.yaml: ${key} is missing or not a plain name`);
    }
    return settings as StackAccess;
}

if (require.main === module) {
    const { values } = parseArgs({ options: { stack: { type: "string" } } });
    if (!values.stack) {
        process.stderr.write("usage: node --import tsx tools/ci/stackSettings.ts --stack <name>\n");
        process.exit(2);
    }
    const access = stackAccess(values.stack);
    process.stdout.write(Object.entries(access).map(([k, v]) => `${k}=${v}\n`).join(""));
}
