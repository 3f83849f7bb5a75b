// S3's error answers: each code has one HTTP status and a default sentence, kept in one table; a caller
// adds its own sentence only where it says more than the default.

const ERRORS = {
  AccessDenied: [403, "Access Denied."],
  AccessForbidden: [403, "CORSResponse: CORS is not enabled for this bucket."],
  AuthorizationHeaderMalformed: [400, "The authorization header is malformed (only AWS4-HMAC-SHA256 is accepted)."],
  AuthorizationQueryParametersError: [400, "Error parsing the presigned URL's authorization parameters."],
  BadRequest: [400, "Bad Request."],
  BadDigest: [400, "The Content-MD5 you specified did not match what we received."],
  BucketNotEmpty: [409, "The bucket you tried to delete is not empty."],
  ConditionalRequestConflict: [409, "The object changed during the request; try again."],
  EntityTooLarge: [400, "Your proposed upload exceeds the maximum allowed size."],
  EntityTooSmall: [400, "Your proposed upload is smaller than the minimum allowed object size."],
  IncompleteBody: [400, "You did not provide the number of bytes specified by the Content-Length HTTP header."],
  InternalError: [500, "We encountered an internal error. Please try again."],
  InvalidAccessKeyId: [403, "The AWS Access Key Id you provided does not exist in our records."],
  InvalidArgument: [400, "Invalid Argument."],
  InvalidPart: [400, "One or more of the specified parts could not be found."],
  InvalidPartNumber: [416, "The requested partnumber is not satisfiable."],
  InvalidPartOrder: [400, "The list of parts was not in ascending order."],
  InvalidRange: [416, "The requested range is not satisfiable."],
  InvalidRequest: [400, "Invalid Request."],
  MalformedTrailerError: [400, "The request contained trailing data that was not well-formed or did not conform to our published schema."],
  MalformedXML: [400, "The XML you provided was not well-formed."],
  MethodNotAllowed: [405, "The specified method is not allowed against this resource."],
  NoSuchBucket: [404, "The specified bucket does not exist."],
  NoSuchKey: [404, "The specified key does not exist."],
  NoSuchUpload: [404, "The specified multipart upload does not exist."],
  NotImplemented: [501, "A header or query you provided implies functionality that is not implemented."],
  PreconditionFailed: [412, "At least one of the pre-conditions you specified did not hold."],
  RequestTimeTooSkewed: [403, "The difference between the request time and the current time is too large."],
  SignatureDoesNotMatch: [403, "The request signature we calculated does not match the signature you provided."],
  XAmzContentSHA256Mismatch: [400, "The provided 'x-amz-content-sha256' header does not match what was computed."],
} as const satisfies Record<string, readonly [number, string]>;

export type S3ErrorCode = keyof typeof ERRORS;

export class S3Error extends Error {
  readonly code: S3ErrorCode;
  readonly status: number;
  constructor(code: S3ErrorCode, message?: string) {
    super(message ?? ERRORS[code][1]);
    this.name = "S3Error";
    this.status = ERRORS[code][0];
    this.code = code;
  }
}

/** S3's error `code`, with its status from the table and `message` or the code's default sentence. */
export const s3Error = (code: S3ErrorCode, message?: string) => new S3Error(code, message);
