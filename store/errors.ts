// S3's error answers: a code, an HTTP status and one sentence, sent as S3's XML.

export class S3Error extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = "S3Error";
    this.status = status;
    this.code = code;
  }
}

export const noSuchKey = () => new S3Error(404, "NoSuchKey", "The specified key does not exist.");
export const noSuchUpload = () => new S3Error(404, "NoSuchUpload", "The specified multipart upload does not exist.");
export const preconditionFailed = () => new S3Error(412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold.");
export const invalidArgument = (message: string) => new S3Error(400, "InvalidArgument", message);
export const invalidRequest = (message: string) => new S3Error(400, "InvalidRequest", message);

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function errorXml(err: S3Error, resource: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}
