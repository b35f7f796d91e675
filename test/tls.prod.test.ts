/** Prod's TLS material: the admins' existing PKI mount (vault.pki.manage: false). See test/tlsChecks.ts. */
import { describeTls } from "./tlsChecks";

describeTls({ stack: "prod", managedMount: false });
