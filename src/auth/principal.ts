import type { User } from "../db/schema";

/** Who is calling, and through which credential. */
export interface Principal {
  user: User;
  method: "password" | "api_key" | "session";
  /** Set when the caller used an API key: its id, and the repository globs it is narrowed to. */
  apiKey?: { id: string; scopes: string[] | null; expiresAt: Date | null };
}
