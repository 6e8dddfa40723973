// The peer of `make bench-peer`: PostGraphile v5 (pinned in package-lock.json) serving
// the `portal` views of bench/peer/peer.sql, as a team would deploy it.
//
// Environment: DATABASE_URL, JWT_SECRET (the gateway's HS256 secret, so that both
// servers take the same tokens), PEER_PORT (default 5678), PEER_POOL_SIZE (default 16,
// like the gateway's DB_POOL_SIZE). Listens on 127.0.0.1 only.
//
// "You own JWT verification" (PostGraphile's JWT guide): the bearer token is verified
// here (HS256, exp) and its claims become pgSettings, which PostGraphile applies with
// set_config() in the request's transaction; RLS reads them through peer.* functions.

import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

import { postgraphile } from "postgraphile";
import { makePgService } from "postgraphile/adaptors/pg";
import { grafserv } from "postgraphile/grafserv/node";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";

const secret = process.env.JWT_SECRET;
if (!process.env.DATABASE_URL || !secret) {
  console.error("DATABASE_URL and JWT_SECRET are required");
  process.exit(2);
}
const port = Number(process.env.PEER_PORT || 5678);

/** The claims of a valid, unexpired HS256 token, or null. */
function verify(token) {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url"));
    if (header.alg !== "HS256") return null;
    const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2], "base64url");
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    const claims = JSON.parse(Buffer.from(parts[1], "base64url"));
    if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return null;
    return claims;
  } catch {
    return null;
  }
}

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["portal"],
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE || 16) },
    }),
  ],
  grafast: {
    explain: false,
    context(requestContext) {
      const auth = requestContext.node?.req?.headers?.authorization;
      const match = typeof auth === "string" && /^bearer\s+(.+)$/i.exec(auth.trim());
      const claims = match ? verify(match[1]) : null;
      if (!claims) {
        // Anonymous: the policies see no claims and answer nothing.
        return { pgSettings: { role: "portal_peer" } };
      }
      return {
        pgSettings: {
          role: "portal_peer",
          "jwt.claims.sub": String(claims.sub),
          "jwt.claims.kind": String(claims.kind),
          "jwt.claims.ws": String(claims.ws),
        },
      };
    },
  },
  grafserv: { graphiql: false, watch: false, port, host: "127.0.0.1" },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
const server = createServer();
server.on("error", (e) => {
  console.error(e);
  process.exit(1);
});
serv.addTo(server).catch((e) => {
  console.error(e);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => {
  console.error(`peer: PostGraphile listening on http://127.0.0.1:${port}/graphql`);
});
const stop = () => {
  server.close();
  pgl.release().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
