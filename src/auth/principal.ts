import type { User } from "../db/schema";
import type { Grant } from "../services/permissions";

/** Who is calling, and through which credential. */
export interface Principal {
  user: User;
  method: "password" | "api_key" | "session";
  /** Set when the caller used an API key: its id, and the repository globs it is narrowed to. */
  apiKey?: { id: string; scopes: string[] | null; expiresAt: Date | null };
  /** Grants and public repositories, when loaded in the same round trip as the credential. */
  access?: { grants: Grant[]; publicPatterns: string[] };
}
