import { inert } from './files.service';

describe('a downloaded file as a local URL', () => {
  it('keeps the type of a picture or a video, so it shows', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'video/mp4', 'video/webm']) {
      expect(inert(new Blob(['x'], { type })).type).toBe(type);
    }
  });

  it('turns anything else into opaque bytes, never a page of the app', () => {
    for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/plain', '']) {
      expect(inert(new Blob(['<script>alert(1)</script>'], { type })).type).toBe(
        'application/octet-stream',
      );
    }
  });
});
