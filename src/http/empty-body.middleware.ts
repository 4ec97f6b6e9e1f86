// The contract accepts an empty body with `Content-Type: application/json` (it means `{}`), which
// Fastify's JSON parser refuses. On Fastify, Nest middleware runs in the onRequest hook, before body
// parsing, so dropping the content type of a zero-length body lets it through as "no body".
import { Injectable, type NestMiddleware } from '@nestjs/common';

interface RawRequest {
  headers: Record<string, string | string[] | undefined>;
}

@Injectable()
export class EmptyJsonBodyMiddleware implements NestMiddleware {
  use(req: RawRequest, _res: unknown, next: () => void): void {
    if (req.headers['content-length'] === '0' && req.headers['transfer-encoding'] === undefined) {
      delete req.headers['content-type'];
    }
    next();
  }
}
