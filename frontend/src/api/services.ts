// Typed calls for each backend endpoint, on top of the fetch wrapper.

import { api, request, requestBlob } from './client'
import type {
  Agreement,
  Consent,
  ConsentPurpose,
  LegalDocument,
  LegalDocumentName,
  LegalDocumentSummary,
  Purpose,
  Dataset,
  DatasetImport,
  DatasetStage,
  QualityReport,
  QualityReportQuery,
  QualityReportSummary,
  CustomerHealth,
  CustomerProfile,
  CustomerRow,
  ProfilesStatus,
  TagDefinition,
  TagDetail,
  TagFamily,
  TagImportReport,
  TagInput,
  TagPatch,
  JobRun,
  JobRunDetail,
  JobRunQuery,
  LakeSyncResult,
  LakeTable,
  PipelineJob,
  Address,
  AddressInput,
  BulkItem,
  BulkUpdateResult,
  Cart,
  Category,
  CategoryInput,
  CheckoutInput,
  CheckoutPreview,
  Coupon,
  CouponGrant,
  CouponInput,
  LifecycleAction,
  LiveEvent,
  LiveEventQuery,
  Membership,
  PointsEntry,
  PreviewInput,
  PricingPreviewInput,
  Promotion,
  PromotionInput,
  PromotionKind,
  PromotionPatch,
  PromotionResults,
  PromotionStatus,
  Breakdown,
  DrugClass,
  EPrescriptionInput,
  ImportReport,
  Order,
  OrderItemInput,
  OrderStatus,
  Payment,
  PatientInput,
  Prescription,
  PrescriptionReview,
  PrescriptionStatus,
  RevealResult,
  ProductAdmin,
  ProductDetail,
  ProductInput,
  ProductSearchQuery,
  Review,
  ReviewStatus,
  SearchResult,
  StockMovement,
  AuditEntry,
  AuditOutcome,
  AuthResult,
  Me,
  Page,
  Permission,
  ProfilePatch,
  Role,
  StaffUser,
  StaffUserDetail,
  Tokens,
  UndoneLink,
  UserTimeline,
} from './types'

export interface RegisterInput {
  phone?: string
  email?: string
  password: string
  name?: string
  /** The version of each legal document the customer accepted. */
  agreements: Partial<Record<LegalDocumentName, string>>
  /** The optional purposes as chosen on the form. */
  consents: Partial<Record<ConsentPurpose, boolean>>
}

export const authApi = {
  register: (input: RegisterInput) => api.post<AuthResult>('/auth/register', input, { auth: false }),
  login: (login: string, password: string) =>
    api.post<AuthResult>('/auth/login', { login, password }, { auth: false }),
  refresh: (refresh_token: string) => api.post<Tokens>('/auth/refresh', { refresh_token }, { auth: false }),
  logout: (refresh_token: string) => api.post<void>('/auth/logout', { refresh_token }),
}

export const meApi = {
  get: () => api.get<Me>('/me'),
  update: (patch: ProfilePatch) => api.patch<Me>('/me', patch),
  /** Every login of the account ends, this one too; the answer is a new login's tokens. */
  changePassword: (current_password: string, new_password: string) =>
    api.post<Tokens>('/me/password', { current_password, new_password }),
}

/** The user agreement, the privacy policy and the purposes of processing (public). */
export const legalApi = {
  documents: () => api.get<LegalDocumentSummary[]>('/legal/documents', undefined, { auth: false }),
  document: (name: LegalDocumentName) =>
    api.get<LegalDocument>(`/legal/documents/${name}`, undefined, { auth: false }),
  purposes: () => api.get<Purpose[]>('/legal/purposes', undefined, { auth: false }),
}

/** The versions of the legal documents the signed-in user accepted. */
export const agreementApi = {
  list: () => api.get<Agreement[]>('/me/agreements'),
  accept: (document: LegalDocumentName, version: string) =>
    api.post<Agreement>('/me/agreements', { document, version }),
}

/** The consent ledger (PIPL): what the signed-in user allows, purpose by purpose. */
export const consentApi = {
  list: () => api.get<Consent[]>('/me/consents'),
  decide: (purpose: ConsentPurpose, granted: boolean) => api.put<Consent>(`/me/consents/${purpose}`, { granted }),
}

export const addressApi = {
  list: () => api.get<Address[]>('/addresses'),
  get: (id: Address['id']) => api.get<Address>(`/addresses/${id}`),
  create: (input: AddressInput) => api.post<Address>('/addresses', input),
  update: (id: Address['id'], patch: Partial<AddressInput>) => api.patch<Address>(`/addresses/${id}`, patch),
  remove: (id: Address['id']) => api.del(`/addresses/${id}`),
}

export interface UserListQuery {
  q?: string
  is_staff?: boolean
  role?: string
  limit?: number
  offset?: number
}

export interface CreateStaffInput {
  email?: string
  phone?: string
  password: string
  name: string
  roles: string[]
}

export interface UpdateUserInput {
  name?: string
  is_active?: boolean
  roles?: string[]
}

export interface AuditQuery {
  actor_id?: string
  action?: string
  subject_type?: string
  subject_id?: string
  outcome?: AuditOutcome | ''
  since?: string
  until?: string
  limit?: number
  offset?: number
}

export const adminApi = {
  listUsers: (query: UserListQuery) => api.get<Page<StaffUser>>('/admin/users', { ...query }),
  getUser: (id: StaffUser['id']) => api.get<StaffUserDetail>(`/admin/users/${id}`),
  /** A customer's e-mail, phone, real name and ID number in full, for a stated purpose (audited). */
  revealUser: (id: StaffUser['id'], purpose: string) =>
    api.post<RevealResult>(`/admin/users/${id}/reveal`, { purpose }),
  createUser: (input: CreateStaffInput) => api.post<StaffUser>('/admin/users', input),
  updateUser: (id: StaffUser['id'], patch: UpdateUserInput) => api.patch<StaffUser>(`/admin/users/${id}`, patch),

  listRoles: () => api.get<Role[]>('/admin/roles'),
  createRole: (input: { name: string; description: string; permissions: string[] }) =>
    api.post<Role>('/admin/roles', input),
  updateRole: (name: string, patch: { description?: string; permissions?: string[] }) =>
    api.patch<Role>(`/admin/roles/${encodeURIComponent(name)}`, patch),
  deleteRole: (name: string) => api.del(`/admin/roles/${encodeURIComponent(name)}`),
  listPermissions: () => api.get<Permission[]>('/admin/permissions'),

  listAudit: (query: AuditQuery) => api.get<Page<AuditEntry>>('/admin/audit', { ...query }),
}

// ---------------------------------------------------------------- storefront catalog

export const catalogApi = {
  categories: () => api.get<Category[]>('/categories'),
  search: (query: ProductSearchQuery) => api.get<SearchResult>('/products', { ...query }),
  suggest: (q: string) => api.get<string[]>('/products/suggest', { q }),
  product: (id: number | string) => api.get<ProductDetail>(`/products/${id}`),
  reviews: (id: number | string, limit = 10, offset = 0) =>
    api.get<Page<Review>>(`/products/${id}/reviews`, { limit, offset }),
  postReview: (id: number | string, rating: number, body: string) =>
    api.post<Review>(`/products/${id}/reviews`, { rating, body }),
}

// ---------------------------------------------------------------- cart (guests carry X-Cart-Token)

function cartHeaders(token: string | null): Record<string, string> {
  return token ? { 'X-Cart-Token': token } : {}
}

export const cartApi = {
  get: (token: string | null) => api.get<Cart>('/cart', undefined, { headers: cartHeaders(token) }),
  add: (token: string | null, product_id: number, quantity: number) =>
    api.post<Cart>('/cart/items', { product_id, quantity }, { headers: cartHeaders(token) }),
  setQuantity: (token: string | null, product_id: number, quantity: number) =>
    api.patch<Cart>(`/cart/items/${product_id}`, { quantity }, { headers: cartHeaders(token) }),
  remove: (token: string | null, product_id: number) =>
    api.del<Cart>(`/cart/items/${product_id}`, { headers: cartHeaders(token) }),
  merge: (guest_token: string) => api.post<Cart>('/cart/merge', { guest_token }),
}

// ---------------------------------------------------------------- checkout, orders, payments

export const orderApi = {
  /** Price the cart (or `items`) with an optional coupon grant and points to redeem. */
  preview: (input: PreviewInput = {}) => {
    const body: PreviewInput = {}
    if (input.items) body.items = input.items
    if (input.coupon_grant_id) body.coupon_grant_id = input.coupon_grant_id
    if (input.points) body.points = input.points
    return api.post<CheckoutPreview>('/checkout/preview', body)
  },
  place: (input: CheckoutInput, idempotencyKey: string) =>
    api.post<Order>('/orders', input, { headers: { 'Idempotency-Key': idempotencyKey } }),
  list: (query: { status?: OrderStatus | ''; limit?: number; offset?: number }) =>
    api.get<Page<Order>>('/orders', { ...query }),
  get: (id: number | string) => api.get<Order>(`/orders/${id}`),
  cancel: (id: number | string, reason = '') => api.post<Order>(`/orders/${id}/cancel`, { reason }),
  confirmReceipt: (id: number | string) => api.post<Order>(`/orders/${id}/confirm-receipt`, {}),
  requestRefund: (id: number | string, reason: string) => api.post<Order>(`/orders/${id}/refund-request`, { reason }),
  pay: (id: number | string) => api.post<Payment>(`/orders/${id}/pay`, {}),
  payment: (id: number | string) => api.get<Payment>(`/orders/${id}/payment`),
}

// ---------------------------------------------------------------- prescriptions

export const rxApi = {
  upload: (file: File | Blob, filename: string, items: OrderItemInput[], patient: PatientInput) => {
    const form = new FormData()
    form.append('file', file, filename)
    form.append('items', JSON.stringify(items))
    form.append('patient', JSON.stringify(patient))
    form.append('filename', filename)
    return api.post<Prescription>('/prescriptions', form)
  },
  eRx: (input: EPrescriptionInput) => api.post<Prescription>('/prescriptions/e-rx', input),
  list: () => api.get<Prescription[]>('/prescriptions'),
  get: (id: number | string) => api.get<Prescription>(`/prescriptions/${id}`),
  file: (id: number | string) => requestBlob(`/prescriptions/${id}/file`),
}

// ---------------------------------------------------------------- console: catalog

export interface AdminProductQuery {
  q?: string
  category?: string
  drug_class?: DrugClass | ''
  banned?: boolean
  active?: boolean
  low_stock?: boolean
  limit?: number
  offset?: number
}

export const adminCatalogApi = {
  list: (query: AdminProductQuery) => api.get<Page<ProductAdmin>>('/admin/products', { ...query }),
  get: (id: number) => api.get<ProductAdmin>(`/admin/products/${id}`),
  create: (input: ProductInput) => api.post<ProductAdmin>('/admin/products', input),
  update: (id: number, patch: Partial<ProductInput>) => api.patch<ProductAdmin>(`/admin/products/${id}`, patch),
  import: (file: File, dryRun: boolean) => {
    const form = new FormData()
    form.append('file', file, file.name)
    return api.post<ImportReport>('/admin/products/import', form, { query: { dry_run: dryRun } })
  },
  export: (format: 'csv' | 'xlsx') => requestBlob('/admin/products/export', { format }),
  bulk: (items: BulkItem[]) => api.post<BulkUpdateResult>('/admin/products/bulk', { items }),
  movements: (id: number, limit = 20, offset = 0) =>
    api.get<Page<StockMovement>>(`/admin/products/${id}/stock-movements`, { limit, offset }),
  /** Create or rename/move a category; answers the whole new tree. */
  saveCategory: (input: CategoryInput) => api.post<Category[]>('/admin/categories', input),
}

// ---------------------------------------------------------------- console: orders

export interface AdminOrderQuery {
  q?: string
  status?: OrderStatus | ''
  since?: string
  until?: string
  requires_rx?: boolean
  limit?: number
  offset?: number
}

export const adminOrderApi = {
  list: (query: AdminOrderQuery) => api.get<Page<Order>>('/admin/orders', { ...query }),
  get: (id: number) => api.get<Order>(`/admin/orders/${id}`),
  ship: (id: number, tracking_no: string) => api.post<Order>(`/admin/orders/${id}/ship`, { tracking_no }),
  refund: (id: number, decision: 'approve' | 'reject', reason: string) =>
    api.post<Order>(`/admin/orders/${id}/refund`, { decision, reason }),
  cancel: (id: number, reason: string) => api.post<Order>(`/admin/orders/${id}/cancel`, { reason }),
  /** The shipping address's recipient, phone and street in full, for a stated purpose (audited). */
  reveal: (id: number, purpose: string) => api.post<RevealResult>(`/admin/orders/${id}/reveal`, { purpose }),
}

// ---------------------------------------------------------------- console: pharmacist, moderation

export const adminRxApi = {
  list: (query: { status?: PrescriptionStatus | ''; limit?: number; offset?: number }) =>
    api.get<Page<Prescription>>('/admin/prescriptions', { ...query }),
  get: (id: number) => api.get<PrescriptionReview>(`/admin/prescriptions/${id}`),
  file: (id: number) => requestBlob(`/admin/prescriptions/${id}/file`),
  review: (id: number, decision: 'approve' | 'reject', reason: string) =>
    api.post<PrescriptionReview>(`/admin/prescriptions/${id}/review`, { decision, reason }),
  /** The patient's name and birth date in full, for a stated purpose (audited). */
  reveal: (id: number, purpose: string) => api.post<RevealResult>(`/admin/prescriptions/${id}/reveal`, { purpose }),
}

export const adminReviewApi = {
  list: (query: { status?: ReviewStatus; limit?: number; offset?: number }) =>
    api.get<Page<Review>>('/admin/reviews', { ...query }),
  moderate: (id: number, decision: 'approve' | 'reject', reason: string) =>
    api.post<Review>(`/admin/reviews/${id}/moderate`, { decision, reason }),
}

// ---------------------------------------------------------------- storefront: coupons, flash sales, membership

export const couponApi = {
  claimable: () => api.get<Coupon[]>('/coupons/claimable', undefined, { auth: false }),
  claim: (couponId: number) => api.post<CouponGrant>(`/coupons/${couponId}/claim`, {}),
  redeem: (code: string) => api.post<CouponGrant>('/coupons/redeem', { code }),
  mine: () => api.get<CouponGrant[]>('/me/coupons'),
}

export const flashApi = {
  list: () => api.get<Promotion[]>('/flash-sales', undefined, { auth: false }),
  buy: (promotionId: number, addressId: number | string, quantity: number, idempotencyKey: string) =>
    api.post<Order>(
      `/flash-sales/${promotionId}/orders`,
      { address_id: addressId, quantity },
      { headers: { 'Idempotency-Key': idempotencyKey } },
    ),
}

export const membershipApi = {
  get: () => api.get<Membership>('/me/membership'),
  points: () => api.get<PointsEntry[]>('/me/points'),
}

// ---------------------------------------------------------------- console: promotions and coupons

export const adminPromoApi = {
  list: (query: { kind?: PromotionKind | ''; status?: PromotionStatus | '' } = {}) =>
    api.get<Promotion[]>('/admin/promotions', { ...query }),
  get: (id: number) => api.get<Promotion>(`/admin/promotions/${id}`),
  create: (input: PromotionInput) => api.post<Promotion>('/admin/promotions', input),
  update: (id: number, patch: PromotionPatch) => api.patch<Promotion>(`/admin/promotions/${id}`, patch),
  act: (id: number, action: LifecycleAction) => api.post<Promotion>(`/admin/promotions/${id}/actions`, { action }),
  review: (id: number, decision: 'approve' | 'reject', note: string) =>
    api.post<Promotion>(`/admin/promotions/${id}/review`, { decision, note }),
  results: (id: number) => api.get<PromotionResults>(`/admin/promotions/${id}/results`),
  preview: (input: PricingPreviewInput) => api.post<Breakdown>('/admin/pricing/preview', input),
}

export const adminCouponApi = {
  list: () => api.get<Coupon[]>('/admin/coupons'),
  create: (input: CouponInput) => api.post<Coupon>('/admin/coupons', input),
  act: (id: number, action: LifecycleAction) => api.post<Coupon>(`/admin/coupons/${id}/actions`, { action }),
  review: (id: number, decision: 'approve' | 'reject', note: string) =>
    api.post<Coupon>(`/admin/coupons/${id}/review`, { decision, note }),
  /** Single-use codes in bulk: the answer is a CSV file. */
  codes: (id: number, count: number) =>
    request<Blob>(`/admin/coupons/${id}/codes`, { method: 'POST', body: { count }, blob: true }),
  issue: (id: number, user_ids: number[]) => api.post<{ issued: number }>(`/admin/coupons/${id}/issue`, { user_ids }),
}

// ---------------------------------------------------------------- tracking sources

export const adminSourceApi = {
  list: (params: { limit?: number; offset?: number } = {}) =>
    api.get<Page<import('./types').TrackingSource>>('/admin/sources', { ...params }),
  create: (name: string, kind: import('./types').SourceKind) =>
    api.post<import('./types').TrackingSourceWithKey>('/admin/sources', { name, kind }),
  rotate: (id: number) => api.post<import('./types').TrackingSourceWithKey>(`/admin/sources/${id}/rotate`),
  revoke: (id: number) => api.post<import('./types').TrackingSource>(`/admin/sources/${id}/revoke`),
  stats: (id: number) => api.get<import('./types').SourceStats>(`/admin/sources/${id}/stats`),
}

// ---------------------------------------------------------------- console: live events, user timelines

/** The lake keeps properties and traits as JSON: they may arrive as a string. */
function jsonObject(value: unknown): Record<string, unknown> | null {
  if (typeof value === 'string') {
    try {
      return jsonObject(JSON.parse(value))
    } catch {
      return null
    }
  }
  return value && typeof value === 'object' ? (value as Record<string, unknown>) : null
}

export const adminEventsApi = {
  /** The newest events the collector received, newest first. */
  live: (query: LiveEventQuery = {}) => api.get<LiveEvent[]>('/admin/events/live', { ...query }),
  /** One person's events across every stitched id, newest first (`userId`: a user or an anonymous id). */
  timeline: async (userId: string, limit = 200) => {
    const tl = await api.get<UserTimeline>(`/admin/users/${encodeURIComponent(userId)}/timeline`, { limit })
    for (const e of tl.events) {
      e.properties = jsonObject(e.properties)
      e.traits = jsonObject(e.traits)
    }
    return tl
  },
  undoLink: (id: number) => api.post<UndoneLink>(`/admin/identity-links/${id}/undo`),
  /** Customers by phone (exact), e-mail, name or id, to open their timeline (every search is audited). */
  people: (q: string, limit = 20) =>
    api.get<Page<import('./types').TimelinePerson>>('/admin/events/people', { q, limit }),
}

// ---------------------------------------------------------------- storefront tracking

export const trackingApi = {
  /** The signed-in user's identity token for the collector. */
  identity: () => api.get<import('@/tracking/tracker').IdentityProof>('/tracking/identity'),
}

// ---------------------------------------------------------------- console: pipeline jobs, lake tables

export const adminJobsApi = {
  /** Every job with its schedule, next run and latest run. */
  list: () => api.get<PipelineJob[]>('/admin/jobs'),
  /** Run history, newest first. */
  runs: (query: JobRunQuery = {}) => api.get<Page<JobRun>>('/admin/jobs/runs', { ...query }),
  /** One run with its log. */
  run: (id: number) => api.get<JobRunDetail>(`/admin/jobs/runs/${id}`),
  /** Run a job now (in the background); 409 JOB_ALREADY_RUNNING while a run of it is in progress. */
  start: (name: string) => api.post<JobRun>(`/admin/jobs/${encodeURIComponent(name)}/run`),
}

export const adminLakeApi = {
  tables: () => api.get<LakeTable[]>('/admin/pipeline/tables'),
  /** Sync these tables (none: all) into today's snapshots now. */
  sync: (tables: string[] = []) => api.post<LakeSyncResult[]>('/admin/pipeline/sync', { tables }),
}

// ---------------------------------------------------------------- console: datasets, quality reports

const datasetPath = (name: string) => `/admin/datasets/${encodeURIComponent(name)}`

export const adminDatasetsApi = {
  /** Every declared dataset: columns and cleaning rules, rows raw and clean, sources, latest quality report. */
  list: () => api.get<Dataset[]>('/admin/datasets'),
  get: (name: string) => api.get<Dataset>(datasetPath(name)),
  /** Rows as imported (raw: text, plus `_import` and `_row`) or as cleaned (typed, `<col>_outlier` flags). */
  rows: (name: string, query: { stage: DatasetStage; limit: number; offset: number }) =>
    api.get<Page<Record<string, unknown>>>(`${datasetPath(name)}/rows`, { ...query }),
  /** An example export to try the import with (external_orders only): a CSV file. */
  sample: (name: string) => requestBlob(`${datasetPath(name)}/sample`),
  /** Upload a file; imported, cleaned and reported on in the background: 202 with the job run. */
  import: (name: string, file: File) => {
    const form = new FormData()
    form.append('file', file, file.name)
    return api.post<JobRun>(`${datasetPath(name)}/imports`, form)
  },
  /** Clean again from the raw rows; 409 JOB_ALREADY_RUNNING while that runs. */
  clean: (name: string) => api.post<JobRun>(`${datasetPath(name)}/clean`),
  /** The imports whose raw rows the dataset holds, newest first. */
  imports: (name: string) => api.get<DatasetImport[]>(`${datasetPath(name)}/imports`),
  /** Take one import's raw rows out of the dataset (pipeline:run; 404 when gone); the clean table changes at the
   * next clean. */
  removeImport: (name: string, importId: string) =>
    api.del(`${datasetPath(name)}/imports/${encodeURIComponent(importId)}`),
}

export const adminQualityApi = {
  /** Newest first; subject `events` or `dataset:<name>`. */
  reports: (query: QualityReportQuery = {}) =>
    api.get<Page<QualityReportSummary>>('/admin/quality/reports', { ...query }),
  report: (id: number) => api.get<QualityReport>(`/admin/quality/reports/${id}`),
}

// ---------------------------------------------------------------- console: customer profiles and the tag catalogue

const tagPath = (code: string) => `/admin/tags/${encodeURIComponent(code)}`

export const adminProfilesApi = {
  status: () => api.get<ProfilesStatus>('/admin/profiles/status'),
  /** Rebuild the store now (pipeline:run): the build_profiles job run. */
  build: () => api.post<JobRun>('/admin/profiles/build'),
  /** Found by id, phone, e-mail or name (masked), with their headline profile figures. */
  customers: (
    query: {
      q?: string
      rfm_group?: string
      city_tier?: number
      age_band?: string
      min_orders?: number
      limit?: number
      offset?: number
    } = {},
  ) =>
    api.get<Page<CustomerRow>>('/admin/profiles/customers', { ...query }),
  /** The customer 360 (audited). */
  customer: (id: number | string) => api.get<CustomerProfile>(`/admin/profiles/customers/${id}`),
  /** Health tags (profiles:read_health; only with the customer's consent; audited). */
  health: (id: number | string) => api.get<CustomerHealth>(`/admin/profiles/customers/${id}/health`),
}

export const adminTagsApi = {
  list: (family?: TagFamily | '') => api.get<TagDefinition[]>('/admin/tags', family ? { family } : undefined),
  get: (code: string) => api.get<TagDetail>(tagPath(code)),
  create: (input: TagInput) => api.post<TagDefinition>('/admin/tags', input),
  update: (code: string, patch: TagPatch) => api.patch<TagDefinition>(tagPath(code), patch),
  remove: (code: string) => api.del(tagPath(code)),
  /** Recompute now, in the background: the job run to follow. */
  refresh: (code: string) => api.post<JobRun>(`${tagPath(code)}/refresh`),
  /** A CSV of user_id,value (UTF-8): replaces the imported tag's values. */
  import: (code: string, file: File) => {
    const form = new FormData()
    form.append('file', file, file.name)
    return api.post<TagImportReport>(`/admin/tag-imports/${encodeURIComponent(code)}`, form)
  },
}
