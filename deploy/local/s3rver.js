#!/usr/bin/env node
// Starts the s3rver S3 emulator with this stack's own key pair instead of the
// emulator's built-in public pair (revoked below): the pair comes from the
// environment (SAFESTREAM_S3_ACCESS_KEY, SAFESTREAM_S3_SECRET_KEY; stack.sh
// generates it once per stack), never from argv or this file. Arguments are
// s3rver's own.
'use strict';

const AWSAccount = require('s3rver/lib/models/account');

const accessKey = process.env.SAFESTREAM_S3_ACCESS_KEY;
const secretKey = process.env.SAFESTREAM_S3_SECRET_KEY;
if (!accessKey || !secretKey) {
  console.error('s3rver.js: SAFESTREAM_S3_ACCESS_KEY and SAFESTREAM_S3_SECRET_KEY must be set');
  process.exit(2);
}
for (const id of [...AWSAccount.DUMMY_ACCOUNT.accessKeys.keys()]) AWSAccount.DUMMY_ACCOUNT.revokeAccessKey(id);
AWSAccount.DUMMY_ACCOUNT.createKeyPair(accessKey, secretKey);

require('s3rver/bin/s3rver.js');
