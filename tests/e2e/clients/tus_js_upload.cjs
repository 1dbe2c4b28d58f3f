// Uploads a file with tus-js-client and prints a JSON report as its last line.
// usage: TUS_TOKEN=… node tus_js_upload.cjs ENDPOINT FILE RECORD_ID PHOTO_ID CHUNK_SIZE RETRIES [UPLOAD_URL]
const fs = require("fs");
const tus = require("tus-js-client");

const token = process.env.TUS_TOKEN;
const [endpoint, file, recordId, photoId, chunkSize, retries, uploadUrl] = process.argv.slice(2);
const data = fs.readFileSync(file);
let lastOffset = 0;
const upload = new tus.Upload(data, {
  endpoint,
  uploadUrl: uploadUrl || null,
  headers: { Authorization: `Bearer ${token}` },
  metadata: { record_id: recordId, photo_id: photoId, filetype: "image/jpeg" },
  chunkSize: Number(chunkSize),
  retryDelays: Array.from({ length: Number(retries) }, () => 100),
  storeFingerprintForResuming: false,
  onProgress(sent) {
    lastOffset = sent;
  },
  onError(error) {
    console.log(JSON.stringify({ error: String(error), url: upload.url, offset: lastOffset }));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ url: upload.url, offset: data.length }));
  },
});
upload.start();
