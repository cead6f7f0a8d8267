/**
 * The sharing limits of domain/limits.py, shown to the user before an upload. /config.json does
 * not carry them yet; tests/browser/test_ui_limits.py fails if these drift from the Python ones.
 */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
export const MAX_TEXT_CHARS = 4000;
export const MAX_ATTACHMENTS = 10;

export const ALLOWED_CONTENT_TYPES: readonly string[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'video/mp4',
  'video/webm',
  'application/pdf',
  'text/plain',
  'text/csv',
  'application/msword',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.ms-excel',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.ms-powerpoint',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
];

export const LIMITS_TEXT =
  'Images (PNG, JPEG, GIF, WebP), video (MP4, WebM), PDF, text, CSV and office documents, up to 100 MB each.';
