/** The smallest valid Wasm module: simulated proplets run nothing, but the manager stores and sends a file. */
export const WASM_BYTES = Buffer.from('0061736d01000000', 'hex');

export interface AddTask {
  body: { name: string; file: string; inputs: string[] };
  /** What a proplet answers for it (the sum of its inputs): each task's result differs, so a mix-up shows. */
  expected: string;
}

/** The n-th task of a run: `add` of n and 1, as POST /tasks (or one item of POST /tasks/batch) takes it. */
export function addTask(n: number): AddTask {
  return {
    body: { name: 'add', file: WASM_BYTES.toString('base64'), inputs: [String(n), '1'] },
    expected: String(n + 1),
  };
}
