/** mlgrid's artifact store below a workspace (http/artifact-routes.ts): streamed file uploads, sealed by a commit. */
import type { Schema } from './kit.js';
import { DELETED, json, NO_CONTENT, type Operation } from './operation.js';

const WS =
  '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}';
const UPLOAD = `${WS}/artifactUploads/{uploadId}`;
const ARTIFACT = `${WS}/artifacts/{sha256}`;
const base = { tag: 'Artifacts', security: 'admin' as const };
const manifest = json({ type: 'object', description: 'Files with sizes and sha256.' }, 'The manifest.');

export const ARTIFACT_SCHEMAS: Record<string, Schema> = {
  ArtifactFile: {
    type: 'string',
    contentMediaType: 'application/octet-stream',
    description: 'The file, streamed.',
  },
};

export const ARTIFACT_OPERATIONS: Operation[] = [
  {
    ...base,
    operationId: 'Artifacts_UploadFile',
    method: 'put',
    path: `${UPLOAD}/files/{filePath}`,
    summary: 'Stream one file of an upload (any content type; the store limits its size)',
    validated: false,
    body: {
      schema: 'ArtifactFile',
      required: true,
      contentTypes: { 'application/octet-stream': 'ArtifactFile' },
    },
    responses: { '200': json({ type: 'object' }, 'Stored.'), '201': json({ type: 'object' }, 'Stored.') },
  },
  {
    ...base,
    operationId: 'Artifacts_GetUpload',
    method: 'get',
    path: UPLOAD,
    summary: 'The files of an upload so far',
    responses: { '200': manifest },
  },
  {
    ...base,
    operationId: 'Artifacts_CommitUpload',
    method: 'post',
    path: `${UPLOAD}/commit`,
    summary: 'Seal an upload: the artifact mlgrid://artifacts/<sha256>',
    responses: { '200': manifest, '201': manifest },
  },
  {
    ...base,
    operationId: 'Artifacts_DeleteUpload',
    method: 'delete',
    path: UPLOAD,
    summary: 'Abandon an upload',
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...base,
    operationId: 'Artifacts_List',
    method: 'get',
    path: `${WS}/artifacts`,
    summary: "The workspace's artifacts",
    responses: {
      '200': json({ type: 'object', properties: { value: { type: 'array' } } }, 'The artifacts.'),
    },
  },
  {
    ...base,
    operationId: 'Artifacts_Get',
    method: 'get',
    path: ARTIFACT,
    summary: "An artifact's manifest",
    responses: { '200': manifest },
  },
  {
    ...base,
    operationId: 'Artifacts_Delete',
    method: 'delete',
    path: ARTIFACT,
    summary: 'Delete an artifact no model version uses',
    responses: { '200': DELETED, '204': NO_CONTENT },
  },
  {
    ...base,
    operationId: 'Artifacts_DownloadFile',
    method: 'get',
    path: `${ARTIFACT}/files/{filePath}`,
    summary: 'Download one file',
    responses: {
      '200': { description: 'The file.', contentType: 'application/octet-stream', schema: 'ArtifactFile' },
    },
  },
];
