#!/bin/sh
# Latchkey browser-upload example: create the bucket and give it a CORS rule for the page's origin.
# Uses the AWS CLI with the account master key (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).
#
#   LATCHKEY_ENDPOINT=http://127.0.0.1:9000 APP_ORIGIN=http://127.0.0.1:8080 \
#     AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… sh examples/browser-upload/setup.sh
set -eu
: "${LATCHKEY_ENDPOINT:?set LATCHKEY_ENDPOINT, e.g. http://127.0.0.1:9000}"
BUCKET="${LATCHKEY_BUCKET:-browser-uploads}"
APP_ORIGIN="${APP_ORIGIN:-http://127.0.0.1:8080}"
export AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}"
s3api() { aws --endpoint-url "$LATCHKEY_ENDPOINT" s3api "$@"; }

if s3api head-bucket --bucket "$BUCKET" >/dev/null 2>&1; then
  echo "bucket $BUCKET exists"
else
  s3api create-bucket --bucket "$BUCKET" >/dev/null
  echo "created bucket $BUCKET"
fi

CORS=$(mktemp)
trap 'rm -f "$CORS"' EXIT
cat >"$CORS" <<JSON
{
  "CORSRules": [
    {
      "AllowedOrigins": ["$APP_ORIGIN"],
      "AllowedMethods": ["PUT", "POST", "GET", "HEAD"],
      "AllowedHeaders": ["*"],
      "ExposeHeaders": ["ETag"],
      "MaxAgeSeconds": 3000
    }
  ]
}
JSON
s3api put-bucket-cors --bucket "$BUCKET" --cors-configuration "file://$CORS"
echo "CORS on $BUCKET now allows $APP_ORIGIN:"
s3api get-bucket-cors --bucket "$BUCKET"
