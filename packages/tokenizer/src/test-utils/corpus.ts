// The equality corpus: hand-picked strings covering scripts, code, emoji and ZWJ sequences, long
// whitespace runs, numbers, lone surrogates, control characters and contractions, plus a
// deterministic generator of random strings drawn from all of those (the property tests use
// fast-check over the same alphabet).

/** Named cases; each is a string the references must tokenize identically to us. */
export const CASES: Record<string, string> = {
  english: "The quick brown fox jumps over the lazy dog. It's 5 o'clock; we'll see, they've gone, I'm here, you'd know.",
  contractions: "IT'S WE'LL THEY'VE I'M YOU'D DON'T 'S 'T 're 'Ve 'lL",
  german: 'Größenmaßstäbe für Straßenbahnübergänge – „Anführungszeichen“ und Äpfel.',
  russian: 'Съешь же ещё этих мягких французских булок, да выпей чаю.',
  greek: 'Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΣΊΣΥΦΟΣ σίσυφος',
  chinese: '我能吞下玻璃而不伤身体。汉字、標點符號，以及全角：ＡＢＣ１２３',
  japanese: 'いろはにほへと ちりぬるを カタカナ ｶﾀｶﾅ 漢字かな交じり文',
  korean: '다람쥐 헌 쳇바퀴에 타고파. 한국어 텍스트',
  arabic: 'صِف خَلقَ خَودِ كَمِثلِ الشَمسِ إِذ بَزَغَت ١٢٣٤٥٦٧',
  hebrew: 'דג סקרן שט בים מאוכזב ולפתע מצא חברה',
  hindi: 'ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले',
  thai: 'เป็นมนุษย์สุดประเสริฐเลิศคุณค่า',
  combining: 'e\u0301 a\u0308 n\u0303 Å Å ﬁ ｱ ㍿ \u1100\u1161\u11a8',
  code: 'function f(x: number): number {\n\treturn x ** 2 + 0x1F; // comment\n}\n\nconst re = /a+b*/g;\nif (a <= b && c != d) { print("hi\\n"); }\n',
  python: 'def f(a, *args, **kw):\n    """Doc."""\n    return [i for i in range(10) if i % 2 == 0]\n',
  emoji: 'Emoji 😀😃 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪🇫🇷 ❤️ 🧑‍🚀 ok',
  whitespace: `a${' '.repeat(100)}b\n\n\n   \t\t  c${'\n'.repeat(30)}d \u00a0\u2003\u3000 e`,
  longSpaces: ' '.repeat(5000),
  longLetters: 'x'.repeat(3000),
  longDigits: '1234567890'.repeat(300),
  numbers: '0 1 12 123 1234 12345 3.14159 -42 1e10 1,000,000 ١٢٣ ۴۵۶ ½ ² Ⅻ',
  loneSurrogates: 'a\uD800b\uDC00c \uDBFF\uDFFF \uD83D',
  controls: 'a\u0000b\u0001c\u0007\u001b[31m\u007f\u0085\u200b\u200d\ufeff\u2028\u2029 end',
  specialLike: '<|endoftext|> <|begin_of_text|> <s> </s> <unk> <|im_start|>user',
  mixed: 'Привет, world! 你好 123 😀 $x — «quotes» “curly” ‘single’ … ⟨math⟩ ∑∫√∞ ≠ ≤',
  url: 'https://example.com/path?q=1&r=two#frag mailto:a@b.c C:\\Windows\\system32',
  empty: '',
  oneSpace: ' ',
  newlines: '\r\n\r\n\n\r',
};

const ALPHABET = [
  'a', 'Z', 'é', 'ß', 'ſ', 'K', 'Σ', 'ς', 'ж', '中', '文', 'カ', '한', 'ب', 'ह', '्', 'ก', '\u0301', '0', '9', '٣', '½',
  ' ', '  ', '\t', '\n', '\r', '\r\n', '\u00a0', '\u3000', '\u0085', '\ufeff', "'", "'s", "'LL", '"', '.', ',', '!', '-', '_',
  '(', ')', '{', '}', '<', '>', '/', '\\', '#', '$', '😀', '👍🏽', '👨‍👩‍👧', '\u200d', '\ufe0f', '\u0000', '\u001b', '\uD800',
  '\uDFFF', '▁', 'Ġ', 'the', ' the', 'ing', '123', ' 42', '<|endoftext|>', '<s>',
];

/** A deterministic random string of up to `maxParts` alphabet pieces (seeded LCG). */
export function randomStrings(count: number, maxParts: number, seed = 1): string[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = Math.floor(rnd() * maxParts);
    let t = '';
    for (let k = 0; k < n; k++) t += ALPHABET[Math.floor(rnd() * ALPHABET.length)];
    out.push(t);
  }
  return out;
}

/** fast-check alphabet pieces (the same as the random generator's). */
export const PIECES: readonly string[] = ALPHABET;

/** How many property-test runs: reduced in CI unless HSA_SLOW_TESTS=1. */
export function propertyRuns(fast: number, slow: number): number {
  return process.env.HSA_SLOW_TESTS === '1' ? slow : fast;
}
