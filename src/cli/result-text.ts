/**
 * A task's results as text: a string as it is (the proplet's answer, `5`), an object (a broadcast task's
 * results by proplet) as JSON, nothing before there is a result.
 */
export function resultText(results: unknown): string {
  if (results === undefined || results === null) return '';
  return typeof results === 'string' ? results : JSON.stringify(results);
}
