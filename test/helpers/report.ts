/**
 * Prints a measured figure when SWITCHYARD_FAULT_REPORT is set (for the fault notes in
 * test/README.md).
 */
export function report(line: string): void {
  if (process.env.SWITCHYARD_FAULT_REPORT !== undefined) process.stderr.write(`[figure] ${line}\n`);
}
