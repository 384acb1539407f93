// How numbers and codes read in the console; the same style as the service's sentences
// (¥366 billion, 17.9%), so a figure reads alike in a table and in an explanation.

const SCALES = [[1e12, "trillion"], [1e9, "billion"], [1e6, "million"]];
const SYMBOLS = { JPY: "¥", USD: "$" };

export function words(code) {
  return code === null || code === undefined ? "—" : String(code).replaceAll("_", " ");
}

export function money(amount, currency = "JPY") {
  if (amount === null || amount === undefined) return "—";
  const symbol = SYMBOLS[currency] || "";
  for (const [scale, word] of SCALES) {
    if (Math.abs(amount) >= scale) {
      return `${symbol}${Number((amount / scale).toPrecision(3)).toLocaleString("en-US")} ${word}`;
    }
  }
  return `${symbol}${Math.round(amount).toLocaleString("en-US")}`;
}

export function score(value, digits = 2) {
  return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
}

export function points(value) {
  return `${value > 0 ? "+" : value < 0 ? "−" : "±"}${Math.abs(value)}`;
}

export function percent(ratio, digits = 0) {
  return `${(ratio * 100).toFixed(digits)}%`;
}
