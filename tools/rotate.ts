/**
 * Rotation by name: prints the commands that rotate one catalog secret, with every URN resolved
 * from the offline plan of the stack. Prints URNs and commands only, never a value.
 *
 *   npm run rotate -- --stack prod nemo-server/session_key
 *   npm run rotate -- --stack prod --leaked nemo-server/jwt_secret   (both slots of a dual-key secret)
 *                     [--stack-file proposed.yaml]   (a stack file other than Pulumi.<stack>.yaml)
 *
 * Exit 0 with the commands; 1 for a name that is not in the catalog (with the nearest names) or
 * not generated (with what to do instead); 2 for a usage error.
 */
import { runAsProcess } from "./cli";
import { rotateCommand } from "./rotateCommand";

runAsProcess(rotateCommand);
