// What the client scripts print: one line per thing an SDK yielded, so that
// two runs compare byte for byte. Values are printed as JSON (stable: the
// order of an object's keys is the order the SDK built it in).

export function line(label, value) {
  process.stdout.write(value === undefined ? `${label}\n` : `${label} ${JSON.stringify(value)}\n`);
}

// The mode argument, checked against the modes a script knows; a wrong one
// is a usage error (exit 2).
export function mode(script, modes) {
  const m = process.argv[2];
  if (!modes.includes(m)) {
    console.error(`usage: node ${script} ${modes.join('|')} [PROMPT]`);
    process.exit(2);
  }
  return m;
}

// The prompt: the argument after the mode, or a fixed one.
export function prompt() {
  return process.argv[3] ?? 'What is 6x7?';
}

// Runs the script's body; an error the SDK raised is printed (its class and
// message) and exits 1, so a test sees what failed instead of a stack.
export async function run(body) {
  try {
    await body();
  } catch (e) {
    console.error(`${e?.constructor?.name ?? 'Error'}: ${e?.message ?? e}`);
    process.exit(1);
  }
}
