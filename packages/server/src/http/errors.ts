/** One error renderer for every route: Azure's envelope `{"error":{"code","message","details"}}`. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ArmErrorBody } from '@mlgrid/protocol';
import { MlgridError } from '../core/errors.js';

/** Errors raised by fastify itself (body parsing, limits) mapped into the catalogue. */
function fromFastify(err: FastifyError): MlgridError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new MlgridError(
        'PayloadTooLarge',
        'The request body is larger than 1 MB (1,048,576 bytes).',
        'body',
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new MlgridError(
        'UnsupportedMediaType',
        `Unsupported Content-Type: ${err.message}`,
        'content-type',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MlgridError(
        'InvalidRequestContent',
        'The request body is empty; a JSON body is required.',
        'body',
      );
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MlgridError('InvalidRequestContent', 'The Content-Length does not match the body.', 'body');
  }
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
    return new MlgridError(
      'InvalidRequestContent',
      `The request body is not valid JSON: ${err.message}`,
      'body',
    );
  }
  if (err.statusCode === 400) return new MlgridError('InvalidRequestContent', err.message, 'body');
  return undefined;
}

export function renderError(err: MlgridError): ArmErrorBody {
  return {
    error: {
      code: err.code,
      message: err.message,
      ...(err.target ? { target: err.target } : {}),
      details: err.details,
    },
  };
}

export function errorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const known = err instanceof MlgridError ? err : fromFastify(err);
  if (known) {
    if (known.status === 405 && known.details.length > 0) reply.header('allow', known.details[0]!.message);
    void reply.code(known.status).send(renderError(known));
    return;
  }
  req.log.error({ err, reqId: req.id }, 'unhandled error');
  void reply
    .code(500)
    .send(
      renderError(
        new MlgridError('InternalServerError', `Internal error (request id ${req.id}). See the server log.`),
      ),
    );
}
