/** Staging's TLS material: a PKI mount and root CA this program owns. See test/tlsChecks.ts. */
import { describeTls } from "./tlsChecks";

describeTls({ stack: "staging", managedMount: true });
