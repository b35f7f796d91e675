/** Typed entry points for policies that cover several resource types by token. */
import type { ReportViolation, ResourceValidation, ResourceValidationArgs } from "@pulumi/policy";

/**
 * A resource validation that runs for `types` only; other types are reported not applicable, as
 * validateResourceOfType does for a single SDK class.
 */
export function forTypes<P>(types: readonly string[], validate: (props: P, args: ResourceValidationArgs, report: ReportViolation) => void | Promise<void>): ResourceValidation {
    return (args, report) => {
        if (!types.includes(args.type)) return args.notApplicable(`applies to ${types.join(", ")} only`);
        return validate(args.props as P, args, report);
    };
}

/** Like forTypes, for a type pattern (CustomResource kinds of any API version). */
export function forTypePattern<P>(pattern: RegExp, validate: (props: P, args: ResourceValidationArgs, report: ReportViolation) => void | Promise<void>): ResourceValidation {
    return (args, report) => {
        if (!pattern.test(args.type)) return args.notApplicable(`applies to ${pattern.source} only`);
        return validate(args.props as P, args, report);
    };
}
