/** How systemd reads what the boot script writes, for the tests that run the script's steps. */

/**
 * A value of a systemd `EnvironmentFile=` line `NAME="..."`, read as systemd reads double-quoted values
 * (src/basic/env-file.c): inside the quotes, a backslash before `"`, `\`, `` ` `` or `$` escapes it; any other
 * backslash is kept; nothing is expanded.
 */
export function systemdValue(line: string): [string, string] {
  const eq = line.indexOf('=');
  const raw = line.slice(eq + 1);
  expect(raw.startsWith('"') && raw.endsWith('"')).toBe(true);
  let value = '';
  for (let i = 1; i < raw.length - 1; i++) {
    if (raw[i] === '\\' && '"\\`$'.includes(raw[i + 1]!)) value += raw[++i];
    else value += raw[i];
  }
  return [line.slice(0, eq), value];
}
