// Segments (用户分群): the API's shapes and calls (`/api/v1/admin/segments`).
import { api, requestBlob } from './client'

export type SegmentKind = 'static' | 'dynamic'
export type SegmentPurpose = 'marketing' | 'analysis'

export interface Segment {
  id: number
  name: string
  description: string
  kind: SegmentKind
  purpose: SegmentPurpose
  definition: Record<string, unknown>
  exclusions: number[]
  owner_id: number | null
  owner_name: string | null
  schedule: string | null
  sensitive: boolean
  impact_assessment_id: string | null
  version: number
  size: number | null
  entered: number | null
  left: number | null
  computed_at: string | null
  created_at: string
  updated_at: string
}

export interface SegmentInput {
  name: string
  description: string
  kind: SegmentKind
  purpose: SegmentPurpose
  definition: Record<string, unknown>
  exclusions: number[]
  schedule: string | null
  impact_assessment_id: string | null
}

export interface SegmentMember {
  user_id: string
  phone: string | null
  email: string | null
  since: string | null
  age_band: string | null
  city_tier: number | null
  rfm_group: string | null
}

export interface SegmentPreview {
  size: number
  sample: SegmentMember[]
  sensitive: boolean
}

export interface SegmentHistory {
  segment_id: number
  days: { day: string; entered: number; left: number; size: number }[]
  changes: { user_id: string; change: 'entered' | 'left'; reason: string; at: string }[]
}

export interface SegmentOverlap {
  segments: { id: number; name: string; size: number }[]
  pairs: { a: number; b: number; both: number }[]
  all: number
}

const base = '/admin/segments'

export const segmentsApi = {
  list: () => api.get<Segment[]>(base),
  preview: (definition: Record<string, unknown>, purpose: SegmentPurpose, exclusions: number[]) =>
    api.post<SegmentPreview>(`${base}/preview`, { definition, purpose, exclusions }),
  create: (input: SegmentInput) => api.post<Segment>(base, input),
  update: (id: number, input: Partial<SegmentInput>) => api.patch<Segment>(`${base}/${id}`, input),
  remove: (id: number) => api.del(`${base}/${id}`),
  compute: (id: number) => api.post<Segment>(`${base}/${id}/compute`),
  members: (id: number, limit = 20, offset = 0) =>
    api.get<{ items: SegmentMember[]; total: number }>(`${base}/${id}/members`, { limit, offset }),
  history: (id: number) => api.get<SegmentHistory>(`${base}/${id}/history`),
  overlap: (segments: number[]) => api.post<SegmentOverlap>(`${base}/overlap`, { segments }),
  export: (id: number) => requestBlob(`${base}/${id}/export`),
}
