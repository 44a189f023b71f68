/**
 * ListObjectVersions (GET /bucket?versions). Versioning is never enabled here, so every object
 * is its one and only version: VersionId "null", IsLatest true (what AWS answers for a bucket
 * that was never versioned). Pagination by key-marker (+ version-id-marker, which can only be
 * "null"), backed by the same O(page) store listing as ListObjects.
 * @module
 */
import { S3Error } from '../errors.js'
import type { Operation } from '../operation.js'
import { encodeName, parseEncodingType, parseMaxKeys } from '../listing/params.js'
import { bucketRecordOf, xmlResponse } from '../responses.js'
import { commonPrefixesXml, contentsXml, listBucketRequirement } from './list-objects.js'
import { doc, el } from '../xml.js'

export const listObjectVersions: Operation = {
  name: 'ListObjectVersions',
  target: 'bucket',
  authorize: (req) => [listBucketRequirement(req, 's3:ListBucketVersions')],
  async handle(req, env) {
    const bucket = bucketRecordOf(req).name
    const prefix = req.query.get('prefix') ?? ''
    const d = req.query.get('delimiter')
    const delimiter = d === undefined || d === '' ? undefined : d
    const maxKeys = parseMaxKeys(req.query.get('max-keys'))
    const enc = parseEncodingType(req.query.get('encoding-type'))
    const keyMarker = req.query.get('key-marker') ?? ''
    const versionIdMarker = req.query.get('version-id-marker')
    if (versionIdMarker !== undefined && versionIdMarker !== '') {
      if (keyMarker === '')
        throw new S3Error(
          'InvalidArgument',
          'A version-id marker cannot be specified without a key marker.',
          {
            ArgumentName: 'version-id-marker',
            ArgumentValue: versionIdMarker,
          },
        )
      if (versionIdMarker !== 'null')
        throw new S3Error('InvalidArgument', 'Invalid version id specified', {
          ArgumentName: 'version-id-marker',
          ArgumentValue: versionIdMarker,
        })
    }
    const p =
      maxKeys === 0
        ? { objects: [], commonPrefixes: [], isTruncated: false, lastReturned: undefined }
        : await env.meta.listObjects(bucket, {
            prefix,
            maxKeys,
            ...(delimiter !== undefined ? { delimiter } : {}),
            ...(keyMarker !== '' ? { after: keyMarker } : {}),
          })
    const owners = new Map<string, ReturnType<typeof env.owner>>()
    const ownerOf = (id: string): ReturnType<typeof env.owner> => {
      let o = owners.get(id)
      if (o === undefined) owners.set(id, (o = env.owner(id)))
      return o
    }
    const next =
      p.isTruncated && p.lastReturned !== undefined
        ? el('NextKeyMarker', encodeName(p.lastReturned, enc)) + el('NextVersionIdMarker', 'null')
        : ''
    const body =
      el('Name', bucket) +
      el('Prefix', encodeName(prefix, enc)) +
      el('KeyMarker', encodeName(keyMarker, enc)) +
      el('VersionIdMarker', versionIdMarker ?? '') +
      next +
      el('MaxKeys', maxKeys) +
      (delimiter !== undefined ? el('Delimiter', encodeName(delimiter, enc)) : '') +
      el('IsTruncated', p.isTruncated) +
      (enc !== undefined ? el('EncodingType', enc) : '') +
      p.objects
        .map((o) =>
          contentsXml(
            o,
            enc,
            ownerOf(o.ownerAccountId),
            'Version',
            el('VersionId', 'null') + el('IsLatest', true),
          ),
        )
        .join('') +
      commonPrefixesXml(p.commonPrefixes, enc)
    return xmlResponse(doc('ListVersionsResult', body))
  },
}
