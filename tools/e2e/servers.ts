/**
 * Real servers on loopback for the end-to-end run, started from the cached toolchain and stopped at
 * its end: etcd, kube-apiserver (certificates made by openssl, TokenRequest and TokenReview served),
 * kube-controller-manager (namespace deletion), and an OpenBao dev server with its own TLS and a
 * file audit device allowed. Nothing here is a mock.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as path from "node:path";

export interface Toolchain {
    dir: string;
    bin(name: string): string;
    crdDir: string;
    pulumiHome: string;
}

export function toolchain(dir: string): Toolchain {
    return { dir, bin: (n) => path.join(dir, "bin", n), crdDir: path.join(dir, "crds"), pulumiHome: path.join(dir, "pulumi-home") };
}

export async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once("error", reject);
        s.listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

function openssl(args: string[], cwd: string): void {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** A CA, the API server's serving certificate, an admin client certificate and the service-account key pair. */
export function makeCertificates(dir: string): { ca: string; caKey: string; serverCert: string; serverKey: string; adminCert: string; adminKey: string; saKey: string; saPub: string } {
    mkdirSync(dir, { recursive: true });
    const p = (f: string) => path.join(dir, f);
    openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=platform-secrets-e2e-ca"], dir);
    writeFileSync(
        p("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n" +
            "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n",
    );
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=kube-apiserver"], dir);
    openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "server.ext"], dir);
    writeFileSync(p("client.ext"), "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n");
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "admin.key", "-out", "admin.csr", "-subj", "/O=system:masters/CN=e2e-admin"], dir);
    openssl(["x509", "-req", "-in", "admin.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "admin.crt", "-days", "2", "-extfile", "client.ext"], dir);
    openssl(["genrsa", "-out", "sa.key", "2048"], dir);
    openssl(["rsa", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
    return { ca: p("ca.crt"), caKey: p("ca.key"), serverCert: p("server.crt"), serverKey: p("server.key"), adminCert: p("admin.crt"), adminKey: p("admin.key"), saKey: p("sa.key"), saPub: p("sa.pub") };
}

interface Proc {
    name: string;
    child: ChildProcess;
    log: string;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, proc?: Proc): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (proc && proc.child.exitCode !== null) throw new Error(`${what}: ${proc.name} exited with ${proc.child.exitCode}; see ${proc.log}`);
        try {
            if (await check()) return;
        } catch {
            /* not yet */
        }
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what}: not ready after ${timeoutMs} ms${proc ? `; see ${proc.log}` : ""}`);
}

/** The API server's audience and issuer: the defaults of the program's config and of an EKS cluster's. */
export const API_SERVER_AUDIENCE = "https://kubernetes.default.svc";

export interface KubeClient {
    request<T = unknown>(method: string, pathName: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
}

/**
 * The API server as a ServiceAccount sees it: the bearer token alone (no client certificate), as a
 * pod calls it with its mounted token. RBAC decides, not the admin's rights.
 */
function kubeBearerClient(server: string, caFile: string, token: string): KubeClient {
    return kubeClient(server, { ca: caFile }, token);
}

function kubeClient(server: string, certs: { ca: string; adminCert?: string; adminKey?: string }, bearer?: string): KubeClient {
    const agent = new https.Agent({
        ca: readFileSync(certs.ca),
        ...(certs.adminCert && certs.adminKey ? { cert: readFileSync(certs.adminCert), key: readFileSync(certs.adminKey) } : {}),
        keepAlive: false,
    });
    return {
        request: (method, pathName, body, contentType = "application/json") =>
            new Promise((resolve, reject) => {
                const data = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
                const req = https.request(
                    `${server}${pathName}`,
                    { method, agent, headers: { Accept: "application/json", ...(bearer ? { Authorization: `Bearer ${bearer}` } : {}), ...(data ? { "Content-Type": contentType, "Content-Length": Buffer.byteLength(data) } : {}) } },
                    (res) => {
                        const chunks: Buffer[] = [];
                        res.on("data", (c) => chunks.push(c));
                        res.on("end", () => {
                            const text = Buffer.concat(chunks).toString("utf8");
                            let parsed: unknown = text;
                            try {
                                parsed = JSON.parse(text);
                            } catch {
                                /* plain text (healthz) */
                            }
                            resolve({ status: res.statusCode ?? 0, body: parsed as never });
                        });
                    },
                );
                req.on("error", reject);
                if (data) req.write(data);
                req.end();
            }),
    };
}

export interface VaultClient {
    address: string;
    caPem: string;
    request<T = any>(method: string, pathName: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
}

/**
 * Vault's HTTP API as the e2e calls it: JSON in and out, the root token unless another is given,
 * over HTTPS with the dev server's CA (`agent`) or plain HTTP (the database scenario's own server).
 */
export function vaultRequester(address: string, rootToken: string, agent?: https.Agent): VaultClient["request"] {
    const client = address.startsWith("https:") ? https : http;
    return (method, pathName, body, token = rootToken) =>
        new Promise((resolve, reject) => {
            const data = body === undefined ? undefined : JSON.stringify(body);
            const req = client.request(
                `${address}/v1/${pathName.replace(/^\//, "")}`,
                { method, agent, headers: { "X-Vault-Token": token, ...(data ? { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) } : {}) } },
                (res) => {
                    const chunks: Buffer[] = [];
                    res.on("data", (c) => chunks.push(c));
                    res.on("end", () => {
                        const text = Buffer.concat(chunks).toString("utf8");
                        let parsed: unknown = {};
                        try {
                            parsed = text ? JSON.parse(text) : {};
                        } catch {
                            parsed = { raw: text };
                        }
                        resolve({ status: res.statusCode ?? 0, body: parsed as never });
                    });
                },
            );
            req.on("error", reject);
            if (data) req.write(data);
            req.end();
        });
}

function vaultClient(address: string, caPem: string, rootToken: string): VaultClient {
    return { address, caPem, request: vaultRequester(address, rootToken, new https.Agent({ ca: caPem, keepAlive: false })) };
}

export interface Servers {
    workDir: string;
    kubeServer: string;
    kubeconfig: string;
    caPem: string;
    serviceAccountIssuer: string;
    kube: KubeClient;
    /** The API server with a ServiceAccount's bearer token instead of the admin's certificate. */
    kubeAs(token: string): KubeClient;
    vault: VaultClient;
    vaultAuditFile: string;
    kubectl(args: string[]): string;
    stop(): Promise<void>;
}

export async function startServers(tc: Toolchain, workDir: string, log: (m: string) => void): Promise<Servers> {
    const procs: Proc[] = [];
    const start = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Proc => {
        const logFile = path.join(workDir, `${name}.log`);
        const out = createWriteStream(logFile);
        const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
        child.stdout!.pipe(out);
        child.stderr!.pipe(out);
        const p = { name, child, log: logFile };
        procs.push(p);
        return p;
    };
    const stop = async () => {
        for (const p of procs.reverse()) {
            if (p.child.exitCode === null) p.child.kill("SIGTERM");
        }
        await Promise.all(procs.map((p) => (p.child.exitCode !== null ? undefined : new Promise((r) => { const t = setTimeout(() => { p.child.kill("SIGKILL"); r(undefined); }, 10_000); p.child.once("exit", () => { clearTimeout(t); r(undefined); }); }))));
    };
    try {
        const certs = makeCertificates(path.join(workDir, "pki"));
        const [etcdClient, etcdPeer, apiPort, vaultPort] = [await freePort(), await freePort(), await freePort(), await freePort()];

        log(`etcd on 127.0.0.1:${etcdClient}`);
        const etcd = start("etcd", tc.bin("etcd"), [
            "--name=e2e", `--data-dir=${path.join(workDir, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=e2e=http://127.0.0.1:${etcdPeer}`, "--log-level=warn",
        ]);
        await waitFor("etcd", async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, 30_000, etcd);

        const kubeServer = `https://127.0.0.1:${apiPort}`;
        log(`kube-apiserver on ${kubeServer}`);
        const apiserver = start("kube-apiserver", tc.bin("kube-apiserver"), [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", `--secure-port=${apiPort}`,
            `--tls-cert-file=${certs.serverCert}`, `--tls-private-key-file=${certs.serverKey}`, `--client-ca-file=${certs.ca}`,
            `--service-account-issuer=${API_SERVER_AUDIENCE}`, `--api-audiences=${API_SERVER_AUDIENCE}`,
            `--service-account-key-file=${certs.saPub}`, `--service-account-signing-key-file=${certs.saKey}`,
            "--service-cluster-ip-range=10.96.0.0/24", "--authorization-mode=Node,RBAC",
            `--cert-dir=${path.join(workDir, "apiserver-certs")}`, "--enable-priority-and-fairness=false", "--v=1",
        ]);
        const kubeconfig = path.join(workDir, "kubeconfig");
        writeFileSync(
            kubeconfig,
            [
                "apiVersion: v1", "kind: Config", "current-context: e2e",
                "clusters:", `- name: e2e`, `  cluster: { server: "${kubeServer}", certificate-authority: "${certs.ca}" }`,
                "users:", `- name: e2e-admin`, `  user: { client-certificate: "${certs.adminCert}", client-key: "${certs.adminKey}" }`,
                "contexts:", `- name: e2e`, `  context: { cluster: e2e, user: e2e-admin }`, "",
            ].join("\n"),
        );
        const kube = kubeClient(kubeServer, certs);
        await waitFor("kube-apiserver", async () => (await kube.request("GET", "/readyz")).status === 200, 120_000, apiserver);

        log("kube-controller-manager (namespace and garbage collection controllers)");
        start("kube-controller-manager", tc.bin("kube-controller-manager"), [
            `--kubeconfig=${kubeconfig}`, "--controllers=namespace,garbagecollector,serviceaccount",
            "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0", `--service-account-private-key-file=${certs.saKey}`, `--root-ca-file=${certs.ca}`,
        ]);

        // The External Secrets v1 CRDs, generated from ESO's API types; the API server validates against them.
        const kubectl = (args: string[]) => execFileSync(tc.bin("kubectl"), [`--kubeconfig=${kubeconfig}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
        kubectl(["apply", "--server-side", ...readdirSync(tc.crdDir).filter((f) => f.endsWith(".yaml")).flatMap((f) => ["-f", path.join(tc.crdDir, f)])]);
        await waitFor(
            "ExternalSecret CRDs",
            async () => {
                const r = await kube.request<{ resources?: { kind: string }[] }>("GET", "/apis/external-secrets.io/v1");
                const kinds = new Set((r.body.resources ?? []).map((x) => x.kind));
                return ["ExternalSecret", "ClusterSecretStore", "SecretStore"].every((k) => kinds.has(k));
            },
            60_000,
        );

        // OpenBao dev server: its own TLS (a CA it writes to the cert dir), a root token of this run only,
        // and API-created audit devices allowed (dev mode merges the extra config file).
        const vaultDir = path.join(workDir, "openbao");
        mkdirSync(vaultDir, { recursive: true });
        const extra = path.join(vaultDir, "extra.hcl");
        writeFileSync(extra, "unsafe_allow_api_audit_creation = true\n");
        const rootToken = randomBytes(24).toString("hex");
        const vaultAddress = `https://127.0.0.1:${vaultPort}`;
        log(`OpenBao (dev, TLS) on ${vaultAddress}`);
        const bao = start("openbao", tc.bin("bao"), [
            "server", "-dev", `-dev-listen-address=127.0.0.1:${vaultPort}`, "-dev-tls", `-dev-tls-cert-dir=${vaultDir}`, `-config=${extra}`,
        ], { ...process.env, BAO_DEV_ROOT_TOKEN_ID: rootToken, VAULT_DEV_ROOT_TOKEN_ID: rootToken });
        const caFile = path.join(vaultDir, "vault-ca.pem");
        await waitFor("OpenBao certificate", async () => readFileSync(caFile, "utf8").includes("BEGIN CERTIFICATE"), 60_000, bao);
        const vault = vaultClient(vaultAddress, readFileSync(caFile, "utf8"), rootToken);
        await waitFor("OpenBao", async () => (await vault.request("GET", "sys/health")).status === 200, 60_000, bao);

        return {
            workDir, kubeServer, kubeconfig, caPem: readFileSync(certs.ca, "utf8"), serviceAccountIssuer: API_SERVER_AUDIENCE,
            kube, kubeAs: (token: string) => kubeBearerClient(kubeServer, certs.ca, token), vault, vaultAuditFile: path.join(vaultDir, "audit.log"), kubectl, stop,
        };
    } catch (e) {
        await stop();
        throw e;
    }
}
