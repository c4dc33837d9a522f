import { describe, expect, it } from "vitest";
import { hashPassword, needsRehash, PASSWORD_PARAMS, verifyPassword } from "../src/crypto/password";
import { crc32, generateSecret, hashSecret, importPepper, parseSecret, safeEqual } from "../src/crypto/secrets";

describe("secret format", () => {
  it("computes the standard CRC-32", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
  });

  it.each(["zak", "krt", "krf"] as const)("makes %s_ secrets that parse back", (prefix) => {
    const secret = generateSecret(prefix);
    expect(secret).toMatch(new RegExp(`^${prefix}_[0-9A-Za-z]{38}$`));
    expect(parseSecret(secret)).toBe(prefix);
  });

  it("has ~190 random bits: no two of many secrets collide", () => {
    const seen = new Set(Array.from({ length: 2000 }, () => generateSecret("zak")));
    expect(seen.size).toBe(2000);
  });

  it("rejects any single mistyped character", () => {
    const secret = generateSecret("zak");
    let rejected = 0;
    for (let i = 4; i < secret.length; i++) {
      const typo = secret.slice(0, i) + (secret[i] === "a" ? "b" : "a") + secret.slice(i + 1);
      if (parseSecret(typo) === null) rejected += 1;
    }
    expect(rejected).toBe(secret.length - 4);
  });

  it.each(["", "zak_", "zak_abc", `xyz_${"a".repeat(38)}`, `${generateSecret("zak")}=`, ` ${generateSecret("zak")}`])(
    "rejects %j",
    (value) => {
      expect(parseSecret(value)).toBeNull();
    },
  );

  it("hashes with the pepper: same secret, other pepper, other hash", async () => {
    const secret = generateSecret("zak");
    const a = await hashSecret(secret, await importPepper(1, "pepper-one-0123456789abcdef0123456789"));
    const b = await hashSecret(secret, await importPepper(2, "pepper-two-0123456789abcdef0123456789"));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain(secret);
  });

  it("compares in constant time and still answers correctly", () => {
    expect(safeEqual("abc", "abc")).toBe(true);
    expect(safeEqual("abc", "abd")).toBe(false);
    expect(safeEqual("abc", "abcd")).toBe(false);
  });
});

describe("password hashing", () => {
  it("uses scrypt at OWASP's minimum in production and records the parameters", () => {
    expect(PASSWORD_PARAMS).toEqual({ ln: 14, r: 8, p: 5 });
    const stored = hashPassword("correct horse");
    expect(stored).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);
    expect(verifyPassword("correct horse", stored)).toBe(true);
    expect(verifyPassword("correct horsf", stored)).toBe(false);
    expect(needsRehash(stored)).toBe(false);
  });

  it("flags weaker hashes for rehashing and refuses garbage", () => {
    const weak = hashPassword("pw", { ln: 10, r: 8, p: 1 });
    expect(needsRehash(weak)).toBe(true);
    expect(verifyPassword("pw", weak)).toBe(true);
    expect(verifyPassword("pw", "plaintext")).toBe(false);
  });
});
