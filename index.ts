// The Pulumi entry point: run the program and export its outputs. Everything lives in main().
import { main } from "./components/main";

export = main();
