// Types mirroring the backend API contract (/api/v1).

export type Gender = 'male' | 'female' | 'other' | 'unknown'

export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
}

export type ConsentPurpose =
  | 'behaviour_analytics'
  | 'personalization'
  | 'marketing_sms'
  | 'marketing_email'
  | 'health_profile'

/** An optional purpose of processing, explained (GET /legal/purposes). */
export interface Purpose {
  purpose: ConsentPurpose
  default: boolean
  /** Health data: sensitive personal information, a separate consent. */
  sensitive: boolean
  label_zh: string
  label_en: string
  description_zh: string
  description_en: string
}

export interface Consent extends Purpose {
  granted: boolean
  decided_at: string | null
}

export type LegalDocumentName = 'terms' | 'privacy'

export interface LegalDocumentSummary {
  name: LegalDocumentName
  version: string
  effective_date: string
  title_zh: string
  title_en: string
}

export interface LegalBlock {
  kind: 'heading' | 'paragraph' | 'list'
  text: string
  items: string[]
}

export interface LegalDocument extends LegalDocumentSummary {
  texts: Record<string, { title: string; blocks: LegalBlock[] }>
}

/** Where the signed-in user stands with a legal document. */
export interface Agreement {
  document: LegalDocumentName
  current_version: string
  accepted_version: string | null
  accepted_at: string | null
  up_to_date: boolean
}

export interface Me {
  id: number | string
  email: string | null
  phone: string | null
  name: string
  gender: Gender
  birth_date: string | null
  region: string
  city: string
  occupation: string
  real_name: string | null
  id_number: string | null
  is_staff: boolean
  roles: string[]
  permissions: string[]
  created_at: string
  /** Legal documents with a new version the user has not accepted yet. */
  pending_agreements: LegalDocumentName[]
}

export interface AuthResult {
  user: Me
  tokens: Tokens
}

export type ProfilePatch = Partial<
  Pick<Me, 'name' | 'gender' | 'birth_date' | 'region' | 'city' | 'occupation' | 'real_name' | 'id_number'>
>

export interface Address {
  id: number | string
  recipient: string
  phone: string
  province: string
  city: string
  district: string
  detail: string
  /** Six digits, or '' when not given. */
  postal_code: string
  is_default: boolean
}

export type AddressInput = Omit<Address, 'id'>

export interface Page<T> {
  items: T[]
  total: number
  limit: number
  offset: number
}

export interface StaffUser {
  id: number | string
  email: string | null
  phone: string | null
  name: string
  is_staff: boolean
  is_active: boolean
  roles: string[]
  created_at: string
  last_login_at: string | null
}

export interface StaffUserDetail extends StaffUser {
  gender: Gender
  birth_date: string | null
  region: string
  city: string
  occupation: string
  real_name: string | null
  id_number: string | null
  /** True when personal fields are masked for this viewer. */
  masked?: boolean
}

export interface Role {
  name: string
  description: string
  builtin: boolean
  permissions: string[]
}

export interface Permission {
  code: string
  description: string
}

export type AuditOutcome = 'success' | 'denied' | 'failure'

export interface AuditEntry {
  id: number | string
  at: string
  actor_id: number | string | null
  actor_login: string | null
  action: string
  subject_type: string | null
  subject_id: string | number | null
  ip: string | null
  outcome: AuditOutcome
  request_id?: string | null
  detail: Record<string, unknown> | null
}

export interface FieldError {
  field: string
  code?: string
  message: string
}

/** RFC 9457 problem details, plus the extension members the backend uses. */
export interface Problem {
  type?: string
  title?: string
  status?: number
  detail?: string
  code?: string
  request_id?: string
  errors?: FieldError[]
  retry_after?: number
  [key: string]: unknown
}

// ---------------------------------------------------------------- catalog

export type DrugClass = 'rx' | 'otc_a' | 'otc_b' | 'device' | 'health_food' | 'other'
export const DRUG_CLASSES: DrugClass[] = ['rx', 'otc_a', 'otc_b', 'device', 'health_food', 'other']
export type StockStatus = 'in_stock' | 'low' | 'out'
export type PurchaseMode = 'cart' | 'prescription' | 'unavailable'
export type ProductSort = 'relevance' | 'price_asc' | 'price_desc' | 'sales' | 'newest'

export interface Category {
  id: number
  code: string
  parent_code: string | null
  name_zh: string
  name_en: string
  product_count: number
  children: Category[]
}

/** POST /admin/categories: creates the category, or renames/moves it when the code exists. */
export interface CategoryInput {
  code: string
  parent_code: string | null
  name_zh: string
  name_en: string
  sort: number
}

export interface ProductCard {
  id: number
  sku: string
  name: string
  generic_name: string
  brand_name: string
  specification: string
  drug_class: DrugClass
  class_label: string
  price_fen: number
  /** null: an Rx package image is not shown before the viewer's prescription is approved. */
  image_url: string | null
  stock_status: StockStatus
  purchase_mode: PurchaseMode
  /** The mandatory risk notice for Rx / OTC; '' otherwise. */
  notice: string
  rating: number | null
  review_count: number
  /** The running promotion's one-unit price for any shopper (catalog discount or flash sale), if any. */
  promo_price_fen?: number | null
  promo_label?: string
}

export interface ProductDetail extends ProductCard {
  dosage_form: string
  manufacturer: string
  approval_number: string
  category_code: string
  category_path: string[]
  pack_size: number
  pack_unit: string
  days_of_supply: number | null
  max_per_order: number
  rx_approved: boolean
  indications: string | null
  contraindications: string | null
  pregnancy: string | null
  children: string | null
  elderly: string | null
  usage_dosage: string | null
  expiry_date: string | null
}

export interface SearchResult extends Page<ProductCard> {
  /** facet name (category, drug_class, brand, manufacturer) → value → count */
  facets: Record<string, Record<string, number>>
  corrected: string | null
}

export interface ProductSearchQuery {
  q?: string
  category?: string
  drug_class?: DrugClass[]
  price_min?: number
  price_max?: number
  brand?: string
  manufacturer?: string
  sort?: ProductSort
  limit?: number
  offset?: number
}

export type SpecialFlag =
  | 'narcotic'
  | 'psychotropic_1'
  | 'psychotropic_2'
  | 'medical_toxic'
  | 'radioactive'
  | 'precursor_chemical'
  | 'vaccine'
  | 'blood_product'
  | 'ephedrine_compound'
  | 'tramadol_compound'
  | 'opioid_compound_oral'
  | 'dextromethorphan_single_oral'
  | 'anabolic_or_peptide_hormone'
  | 'injection'
  | 'hospital_preparation'
  | 'tcm_formula_granule'

export const SPECIAL_FLAGS: SpecialFlag[] = [
  'narcotic',
  'psychotropic_1',
  'psychotropic_2',
  'medical_toxic',
  'radioactive',
  'precursor_chemical',
  'vaccine',
  'blood_product',
  'ephedrine_compound',
  'tramadol_compound',
  'opioid_compound_oral',
  'dextromethorphan_single_oral',
  'anabolic_or_peptide_hormone',
  'injection',
  'hospital_preparation',
  'tcm_formula_granule',
]

export interface ProductInput {
  sku: string
  generic_name: string
  brand_name: string
  specification: string
  dosage_form: string
  manufacturer: string
  approval_number: string
  drug_class: DrugClass
  special_flags: SpecialFlag[]
  /** Required for drugs (rx, otc_a, otc_b): codes (or names) of the ingredient knowledge. */
  active_ingredients: ActiveIngredient[]
  atc_code: string
  category_code: string
  indications: string
  contraindications: string
  pregnancy: string
  children: string
  elderly: string
  usage_dosage: string
  pack_size: number
  pack_unit: string
  /** Decimal, sent as a string or number; null when unknown. */
  daily_dose: string | number | null
  price_fen: number
  stock: number
  max_per_order: number
  batch_no: string
  expiry_date: string | null
  tags: string[]
  image_url: string
  is_active: boolean
}

export interface ActiveIngredient {
  code: string
  amount: number | null
  unit: string
}

export interface ActiveIngredientOut extends ActiveIngredient {
  name_zh: string
  name_en: string
}

/** One banned category; derived ones come from ingredients, generic name or form and no flag can lift them. */
export interface BanFinding {
  flag: SpecialFlag | 'listed_generic'
  label: string
  ingredients: string[]
  generic: string
  derived: boolean
}

export interface ProductAdmin extends ProductInput {
  id: number
  active_ingredients: ActiveIngredientOut[]
  category_name: string
  online_banned: boolean
  banned_reason: string
  ban_findings: BanFinding[]
  ban_derived: boolean
  negative_list_version: string
  sales: number
  days_of_supply: number | null
  created_at: string
  updated_at: string
}

export interface ImportRowError {
  row: number
  sku: string
  field: string
  message: string
}

export interface ImportReport {
  rows: number
  created: number
  updated: number
  rejected: number
  banned: number
  dry_run: boolean
  errors: ImportRowError[]
}

export interface BulkItem {
  sku: string
  price_fen?: number
  stock?: number
  stock_delta?: number
}

export interface BulkUpdateResult {
  updated: number
  errors: ImportRowError[]
}

export interface StockMovement {
  id: number
  product_id: number
  delta: number
  reason: string
  ref: string
  actor_id: number | null
  at: string
}

// ---------------------------------------------------------------- cart and orders

export type LineProblem = 'OUT_OF_STOCK' | 'QUANTITY_LIMIT' | 'RX_PRESCRIPTION_REQUIRED' | string

export interface CartLine {
  product: ProductCard
  quantity: number
  /** At list price. */
  line_total_fen: number
  /** Promotions (when the backend applies them): the line's discount and what is left to pay. */
  discount_fen?: number
  final_fen?: number
  /** Units sold at the flash-sale price. */
  flash_units?: number
  problem: LineProblem | null
}

export interface Cart {
  guest_token: string | null
  lines: CartLine[]
  item_count: number
  subtotal_fen: number
  discount_fen?: number
  shipping_fen: number
  total_fen: number
  requires_rx: boolean
  breakdown?: Breakdown
}

export interface OrderItemInput {
  product_id: number
  quantity: number
}

export interface CheckoutPreview {
  lines: CartLine[]
  subtotal_fen: number
  discount_fen?: number
  shipping_fen: number
  total_fen: number
  requires_rx: boolean
  rx_notice: string | null
  breakdown?: Breakdown
}

export interface PreviewInput {
  items?: OrderItemInput[]
  coupon_grant_id?: number | null
  points?: number
}

export interface CheckoutInput {
  address_id: number | string
  items?: OrderItemInput[]
  coupon_grant_id?: number
  points?: number
  prescription_id?: number
  risk_confirmed: boolean
  note: string
}

export type OrderStatus =
  | 'awaiting_rx_review'
  | 'awaiting_payment'
  | 'paid'
  | 'shipped'
  | 'completed'
  | 'cancelled'
  | 'refund_requested'
  | 'refunded'

export const ORDER_STATUSES: OrderStatus[] = [
  'awaiting_rx_review',
  'awaiting_payment',
  'paid',
  'shipped',
  'completed',
  'cancelled',
  'refund_requested',
  'refunded',
]

export interface OrderLine {
  product_id: number
  sku: string
  generic_name: string
  brand_name: string
  specification: string
  dosage_form: string
  manufacturer: string
  approval_number: string
  drug_class: DrugClass
  batch_no: string
  expiry_date: string | null
  unit_price_fen: number
  quantity: number
  line_total_fen: number
}

export interface StatusChange {
  from_status: string
  to_status: string
  reason: string
  at: string
}

export interface OrderAddress {
  recipient: string
  phone: string
  province: string
  city: string
  district: string
  detail: string
  postal_code: string
}

export interface Order {
  id: number
  number: string
  user_id: number
  status: OrderStatus
  subtotal_fen: number
  shipping_fen: number
  discount_fen: number
  total_fen: number
  currency: string
  address: OrderAddress
  requires_rx: boolean
  prescription_id: number | null
  risk_confirmed_at: string | null
  expires_at: string | null
  paid_at: string | null
  shipped_at: string | null
  completed_at: string | null
  cancelled_at: string | null
  tracking_no: string
  note: string
  created_at: string
  lines: OrderLine[]
  /** Points this order earns (credited when it is paid). */
  points_earned?: number
  /** Every discount, one row per line it was spread over (order-level ones appear once per line). */
  adjustments?: OrderAdjustment[]
  history: StatusChange[]
  /** Customer: pay, cancel, confirm, refund, review. Staff: ship, approve_refund, reject_refund, cancel. */
  allowed_actions: string[]
  /** Staff views: the address's recipient, phone and street masked (the full values by reveal). */
  masked?: boolean
}

export interface Payment {
  id: number
  order_id: number
  provider: string
  out_trade_no: string
  amount_fen: number
  currency: string
  status: 'created' | 'paid' | 'closed' | 'refunded' | string
  pay_url: string
  qr_code: string
  paid_at: string | null
}

// ---------------------------------------------------------------- prescriptions and reviews

export type PrescriptionStatus = 'pending' | 'approved' | 'rejected' | 'consumed'

export interface PrescriptionItem {
  product_id: number
  quantity: number
  name: string
}

export interface Prescription {
  id: number
  user_id: number
  kind: 'upload' | 'e_rx'
  status: PrescriptionStatus
  file_name: string
  content_type: string
  size_bytes: number
  hospital: string
  doctor: string
  rx_number: string
  issued_on: string | null
  /** An e-prescription's last valid day (处方管理办法 Art 18: the day of issue, at most 3 days). */
  valid_until: string | null
  patient: PatientOut
  diagnosis: string | null
  reviewer_name: string
  reviewer_licence: string
  reviewed_at: string | null
  review_reason: string
  order_id: number | null
  created_at: string
  items: PrescriptionItem[]
  /** Staff views: the patient's name masked and the birth date left out (the full values by reveal). */
  masked?: boolean
  duplicate?: boolean
}

export type PatientSex = 'male' | 'female'
export type PatientPregnancy = 'none' | 'pregnant' | 'breastfeeding' | 'planning'
export type PatientRelationship = 'self' | 'spouse' | 'parent' | 'child' | 'other'
export const PATIENT_PREGNANCIES: PatientPregnancy[] = ['none', 'pregnant', 'breastfeeding', 'planning']
export const PATIENT_RELATIONSHIPS: PatientRelationship[] = ['self', 'spouse', 'parent', 'child', 'other']

/** The person who takes the medicine (用药人): a birth date or an age is required. */
export interface PatientInput {
  name: string
  sex: PatientSex
  birth_date?: string | null
  age?: number | null
  allergies: string
  pregnancy: PatientPregnancy
  relationship: PatientRelationship
}

/** The patient as the viewer may see them (null on prescriptions from before the patient was collected). */
export interface PatientOut {
  name: string | null
  sex: PatientSex | null
  birth_date: string | null
  age: number | null
  allergies: string | null
  pregnancy: PatientPregnancy | null
  relationship: PatientRelationship | null
}

export interface RxOrderLine {
  product_id: number
  name: string
  drug_class: string
  quantity: number
}

/** One of the buyer's earlier orders with prescription drugs, as the reviewing pharmacist sees it. */
export interface RxOrder {
  id: number
  number: string
  status: OrderStatus
  created_at: string
  paid_at: string | null
  prescription_id: number | null
  lines: RxOrderLine[]
}

export interface PrescriptionReview extends Prescription {
  earlier_rx_orders: RxOrder[]
}

export interface EPrescriptionInput {
  hospital: string
  doctor: string
  rx_number: string
  issued_on: string
  /** 1 (the day of issue) to 3 days, when the prescriber says so. */
  validity_days: number
  patient: PatientInput
  diagnosis: string
  items: OrderItemInput[]
}

/** The full values of a record's masked personal fields, read for a stated purpose (audited). */
export interface RevealResult {
  subject_type: string
  subject_id: number
  values: Record<string, string | null>
  purpose: string
}

export type ReviewStatus = 'pending' | 'approved' | 'rejected'

export interface Review {
  id: number
  product_id: number
  user_id: number
  author: string
  rating: number
  body: string
  status: ReviewStatus
  moderation_reason: string
  created_at: string
}

// ---------------------------------------------------------------- promotions, coupons, membership

export type AdjustmentSource = 'promotion' | 'coupon' | 'points' | string

export interface Adjustment {
  source: AdjustmentSource
  source_id: number | null
  kind: string
  label: string
  amount_fen: number
  product_id: number | null
}

export type OrderAdjustment = Adjustment

export interface PricedLine {
  product_id: number
  quantity: number
  list_price_fen: number
  list_total_fen: number
  flash_units: number
  discount_fen: number
  final_fen: number
  adjustments: Adjustment[]
}

export interface GiftOut {
  product_id: number
  name: string
  quantity: number
}

export type CouponProblem = 'COUPON_MIN_SPEND' | 'COUPON_NOT_APPLICABLE' | 'COUPON_NOT_COMBINABLE' | string

/** The pricing engine's answer: lines, every discount applied (order-level ones once), totals. */
export interface Breakdown {
  lines: PricedLine[]
  applied: Adjustment[]
  subtotal_fen: number
  discount_fen: number
  goods_fen: number
  points_redeemed: number
  points_fen: number
  shipping_fen: number
  total_fen: number
  points_earned: number
  gifts: GiftOut[]
  coupon_problem: CouponProblem | null
  /** The free-shipping threshold in force for this cart (a running promotion's or the default). */
  free_shipping_from_fen: number
  /** What the goods (after discounts) still lack for free shipping; 0 when it is free. */
  free_shipping_gap_fen: number
}

export type PromotionKind =
  | 'catalog_discount'
  | 'spend_tier'
  | 'spend_percent'
  | 'free_shipping'
  | 'gift'
  | 'member_price'
  | 'flash_sale'
export const PROMOTION_KINDS: PromotionKind[] = [
  'catalog_discount',
  'spend_tier',
  'spend_percent',
  'free_shipping',
  'gift',
  'member_price',
  'flash_sale',
]

/** Stored status (what the filter takes). */
export type PromotionStatus = 'draft' | 'in_review' | 'published' | 'paused' | 'ended'
export const PROMOTION_STATUSES: PromotionStatus[] = ['draft', 'in_review', 'published', 'paused', 'ended']
/** The status with the time window applied (what the table shows). */
export type PromotionState = 'draft' | 'in_review' | 'scheduled' | 'running' | 'paused' | 'ended'

export interface Scope {
  product_ids: number[]
  category_codes: string[]
  brands: string[]
}

export interface FlashInfo {
  product_id: number
  product_name: string
  list_price_fen: number
  sale_price_fen: number
  sale_stock: number
  per_user_limit: number
  remaining: number
  image_url: string | null
}

export interface Promotion {
  id: number
  name: string
  kind: PromotionKind
  status: PromotionStatus
  state: PromotionState
  starts_at: string
  ends_at: string
  priority: number
  exclusive: boolean
  scope: Scope
  rules: Record<string, unknown>
  review_note: string
  created_by: number | null
  reviewed_by: number | null
  flash: FlashInfo | null
}

export interface PromotionInput {
  name: string
  kind: PromotionKind
  starts_at: string
  ends_at: string
  priority: number
  exclusive: boolean
  scope: Scope
  rules: Record<string, unknown>
}

export type PromotionPatch = Partial<Omit<PromotionInput, 'kind'>>

export interface PromotionResults {
  promotion_id: number
  orders: number
  gmv_fen: number
  discount_fen: number
  units: number
}

export type LifecycleAction = 'submit' | 'pause' | 'resume' | 'end'

export interface PricingPreviewInput {
  items: OrderItemInput[]
  member_level: number
  coupon_id?: number | null
  at?: string
  include_promotion_ids: number[]
}

export type CouponKind = 'amount_off' | 'percent_off'

export interface Coupon {
  id: number
  name: string
  kind: CouponKind
  amount_off_fen: number
  percent_off: number
  max_off_fen: number
  min_spend_fen: number
  scope: Scope
  valid_from: string
  valid_to: string
  per_user_limit: number
  total_limit: number
  issued: number
  claimable: boolean
  public_code: string | null
  min_member_level: number
  status: PromotionState
  review_note: string
}

export interface CouponInput {
  name: string
  kind: CouponKind
  amount_off_fen: number
  percent_off: number
  max_off_fen: number
  min_spend_fen: number
  scope: Scope
  valid_from: string
  valid_to: string
  per_user_limit: number
  total_limit: number
  claimable: boolean
  public_code: string | null
  min_member_level: number
}

export type GrantStatus = 'available' | 'locked' | 'used' | string

export interface CouponGrant {
  id: number
  coupon: Coupon
  status: GrantStatus
  code: string | null
  granted_at: string
  usable_now: boolean
}

export interface MemberLevel {
  level: number
  name: string
  threshold_fen: number
}

export interface Membership {
  level: number
  level_name: string
  spend_12m_fen: number
  next_level_name: string | null
  next_level_at_fen: number | null
  points: number
  levels: MemberLevel[]
}

export type PointsReason = 'earned' | 'redeemed' | 'refunded_redemption' | 'reversed' | string

export interface PointsEntry {
  id: number
  delta: number
  balance: number
  reason: PointsReason
  order_id: number | null
  at: string
}

// ---------------------------------------------------------------- tracking sources (Segment collector)

export type SourceKind = 'web' | 'server' | 'app' | 'import'
export const SOURCE_KINDS: SourceKind[] = ['web', 'server', 'app', 'import']

export interface TrackingSource {
  id: number
  name: string
  kind: SourceKind | string
  /** The first characters of the write key (`mr_xxxxxx`). */
  key_hint: string
  status: 'active' | 'revoked' | string
  /** Written by MedReach itself (server events, the simulator): no key, cannot be rotated or revoked. */
  internal: boolean
  /** A secret server/import key, whose userIds the collector believes (web/app keys need identity tokens). */
  trusted: boolean
  created_at: string
  rotated_at: string | null
}

/** Create / rotate answer: the write key is shown this once. */
export interface TrackingSourceWithKey extends TrackingSource {
  write_key: string
}

export interface SourceStats {
  /** Oldest first; `day` is YYYYMMDD (UTC). */
  days: { day: string; received: number; rejected: number }[]
  rejected_by_reason: Record<string, number>
  recent_rejections: { reason: string; field: string; message_id: string; sample: string; at: string }[]
}

// ---------------------------------------------------------------- behaviour events (live view, user timeline)

/** A Segment record as the collector normalised it (live view); any key may be absent. */
export interface LiveEvent {
  type?: string
  event?: string
  name?: string
  userId?: string | null
  anonymousId?: string | null
  previousId?: string
  messageId?: string
  timestamp?: string
  receivedAt?: string
  sourceId?: number
  properties?: Record<string, unknown>
  traits?: Record<string, unknown>
  context?: {
    library?: { name?: string; version?: string }
    page?: { path?: string; url?: string }
    locale?: string
    [key: string]: unknown
  }
}

export interface LiveEventQuery {
  source_id?: number | null
  event?: string
  /** A user id or an anonymous id (exact). */
  user?: string
  limit?: number
}

/** An anonymous (or previous) id stitched to a user by identify or alias; undone links no longer count. */
export interface IdentityLink {
  id: number
  anonymous_id: string
  via: 'identify' | 'alias' | string
  created_at: string
  undone_at: string | null
}

/** One event of a timeline, in the lake's schema. */
export interface TimelineEvent {
  message_id: string
  type: string
  event: string | null
  name: string | null
  user_id: string | null
  anonymous_id: string | null
  previous_id: string | null
  source_id: number | null
  timestamp: string
  received_at: string | null
  page_path: string | null
  page_url: string | null
  page_referrer: string | null
  campaign_source: string | null
  campaign_medium: string | null
  campaign_name: string | null
  user_agent: string | null
  locale: string | null
  library: string | null
  /** Parsed by the API wrapper (the lake may answer a JSON string). */
  properties: Record<string, unknown> | null
  traits: Record<string, unknown> | null
}

export interface UserTimeline {
  user_id: string
  /** The user id and every id stitched to it. */
  ids: string[]
  links: IdentityLink[]
  /** Newest first. */
  events: TimelineEvent[]
}

export interface UndoneLink {
  id: number
  anonymous_id: string
  user_id: string
  undone_at: string
}

/** A customer found by phone, e-mail, name or id for their timeline (masked as the viewer may see them). */
export interface TimelinePerson {
  user_id: string
  name: string | null
  phone: string | null
  email: string | null
}

// ---------------------------------------------------------------- pipeline: jobs and their runs, lake tables

export type JobRunStatus = 'queued' | 'running' | 'succeeded' | 'failed'
export const JOB_RUN_STATUSES: JobRunStatus[] = ['queued', 'running', 'succeeded', 'failed']
export type JobTrigger = 'schedule' | 'manual' | 'cli'

/** One run of a pipeline job (scheduled, 运行 in the console or from the CLI). */
export interface JobRun {
  id: number
  job: string
  trigger: JobTrigger | string
  status: JobRunStatus | string
  attempt: number
  max_attempts: number
  progress_done: number
  /** Unknown (null) until the job says how many steps it has. */
  progress_total: number | null
  /** What the job is doing now (e.g. the table being synced). */
  message: string
  created_at: string
  started_at: string | null
  finished_at: string | null
  duration_seconds: number | null
  requested_by: number | null
  /** What the run was given (jobs with parameters: e.g. import_file's {dataset, path, filename, bytes}). */
  params?: Record<string, unknown> | null
  result: Record<string, unknown> | null
  error: string | null
}

export interface JobLogLine {
  at: string
  level: 'info' | 'warning' | 'error' | string
  message: string
}

export interface JobRunDetail extends JobRun {
  log: JobLogLine[]
}

export interface PipelineJob {
  name: string
  title_zh: string
  title_en: string
  description_zh: string
  description_en: string
  /** Cron, read in `timezone` (Asia/Shanghai); null: by hand only. */
  schedule: string | null
  timezone: string
  next_run_at: string | null
  max_attempts: number
  /** What a run must be given; such jobs start from their own page (datasets), not from 运行 (422 JOB_NEEDS_PARAMETERS). */
  params?: string[]
  last_run: JobRun | null
}

export interface JobRunQuery {
  job?: string
  status?: JobRunStatus | ''
  limit?: number
  offset?: number
}

export interface LakeTable {
  name: string
  watermark_column: string
  key: string
  columns: { name: string; type: string }[]
  /** Null until the first sync. */
  state: {
    watermark: string | number | null
    synced_at: string
    snapshot_date: string
    rows: number
  } | null
  /** Snapshot days (YYYY-MM-DD), oldest first. */
  snapshots: string[]
}

export interface LakeSyncResult {
  table: string
  snapshot_date: string
  upserts: number
  deletes: number
  rows: number
  watermark: string | number | null
}

// ---------------------------------------------------------------- pipeline: datasets and quality reports

export type DatasetColumnType = 'string' | 'int' | 'float' | 'money' | 'bool' | 'timestamp' | 'date' | 'quantity'
export type MissingPolicy = 'keep' | 'drop' | 'constant' | 'median' | 'mode'

/** A declared column of a dataset and its cleaning rules. */
export interface DatasetColumn {
  /** The name in the clean table. */
  name: string
  /** The name in the declaration (and in source files, with `aliases`). */
  source: string
  aliases: string[]
  type: DatasetColumnType | string
  /** Normalisation steps, in order (strip, fullwidth, t2s, lower, upper, phone, pseudonymize). */
  normalize: string[]
  unit: string | null
  pii: boolean
  missing: { policy: MissingPolicy | string; value: unknown; group_by: string | null }
  outliers: { method: 'iqr' | 'robust_z' | string; action: 'flag' | 'cap' | 'drop' | string; threshold: number } | null
  /** pandera checks on the clean column: nullable, ge, le, gt, lt, isin, str_length_max. */
  expect: Record<string, unknown>
}

export type QualityStatus = 'passed' | 'failed'
export const QUALITY_STATUSES: QualityStatus[] = ['passed', 'failed']

/** A quality report as listed (GET /admin/quality/reports). */
export interface QualityReportSummary {
  id: number
  /** `events` or `dataset:<name>`. */
  subject: string
  run_id: number | null
  status: QualityStatus | string
  engine: string
  rows_in: number
  rows_out: number
  created_at: string
  drifted: boolean
  /** How many expectations failed. */
  broken: number
}

export interface Dataset {
  name: string
  title_zh: string
  title_en: string
  description_zh: string
  description_en: string
  key: string[]
  latest_by: string | null
  dedupe_exact: boolean
  min_rows: number
  columns: DatasetColumn[]
  raw_rows: number
  raw_files: number
  /** Null until the first clean run whose expectations hold. */
  clean_rows: number | null
  sources: Record<string, { checkpoint: unknown; complete: boolean; import_id: string; finished_at?: string }>
  last_report: QualityReportSummary | null
}

export type DatasetStage = 'clean' | 'raw'

/** An import whose raw rows a dataset holds (GET /admin/datasets/{name}/imports, newest first). What its run
 * recorded (source, finished_at, read, written, rejected) is absent for an import that was interrupted. */
export interface DatasetImport {
  /** `<UTC time>-<6 hex>`, e.g. `20261125T131957479471-393a35`: sorts by time. */
  import_id: string
  files: number
  rows: number
  /** `file:<file name>` for an uploaded file, else the connector source's name. */
  source?: string
  finished_at?: string
  read?: number
  written?: number
  rejected?: number
}

export interface QualityStep {
  step: string
  rows_in: number
  rows_out: number
  dropped: number
}

export type ColumnKind = 'numeric' | 'text' | 'boolean' | 'time'

/** One column's profile in a quality report. */
export interface ColumnProfile {
  name: string
  type: string
  kind: ColumnKind | string
  rows: number
  nulls: number
  null_rate: number
  distinct: number
  min?: number | string | null
  max?: number | string | null
  mean?: number | null
  histogram?: { from: number; to: number; count: number }[]
  top?: { value: string; count: number }[]
}

export interface ExpectationFailure {
  column: string | null
  check: string
  error: string
  table?: string
}

export interface QualityReportBody {
  subject: string
  engine: string
  rows_in: number
  rows_out: number
  steps: QualityStep[]
  dropped_by_reason: Record<string, number>
  invalid: Record<string, { count: number; examples: string[] }>
  outliers: Record<
    string,
    { method: string; action: string; threshold: number; lower: number | null; upper: number | null; count: number }
  >
  filled: Record<string, { policy: string; group_by: string | null; count: number; value: unknown }>
  source_columns: string[]
  columns: ColumnProfile[]
  drift: {
    baseline: number | null
    columns_added: string[]
    columns_removed: string[]
    type_changes: { column: string; before: string; after: string }[]
    null_rate_changes: { column: string; before: number; after: number }[]
    drifted: boolean
  }
  expectations: { passed: boolean; failures: ExpectationFailure[] }
  status: QualityStatus | string
  seconds?: number
}

export interface QualityReport extends QualityReportSummary {
  report: QualityReportBody
}

export interface QualityReportQuery {
  subject?: string
  status?: QualityStatus | ''
  run_id?: number
  limit?: number
  offset?: number
}

/** `result.import` of an import_file (or source:*) run. */
export interface ImportRunResult {
  dataset: string
  source: string
  import_id: string
  read: number
  written: number
  rejected: number
  rejected_by_reason: Record<string, number>
  rejection_samples: { reason: string; detail: string }[]
  invalid_identifiers: Record<string, number>
  resumed_from: unknown
  columns: string[]
  seconds: number
}

// ---------------------------------------------------------------- profiles: the tag catalogue, the customer 360

export const TAG_FAMILIES = ['demographic', 'consumption', 'interest', 'health', 'model', 'imported', 'custom'] as const
export type TagFamily = (typeof TAG_FAMILIES)[number]
export type TagKind = 'builtin' | 'rule' | 'model' | 'import'

export interface TagDefinition {
  id: number
  code: string
  name_zh: string
  name_en: string
  description: string
  family: TagFamily | string
  kind: TagKind | string
  /** builtin: {column, evidence, edges?, labels?}; rule: {when, value}; import: {file, rows, imported, unknown}. */
  definition: Record<string, unknown>
  /** Cron in Beijing time (rule and imported tags); null: with every profile build. */
  schedule: string | null
  owner_id: number | null
  /** The owner's name (in the catalogue's list; built-in tags have none). */
  owner_name?: string | null
  sensitive: boolean
  coverage: number | null
  customers: number | null
  computed_at: string | null
  version: number
  created_at: string
  updated_at: string
}

export interface TagDetail extends TagDefinition {
  distribution: { value: string | null; customers: number; mean_score: number | null }[]
  histogram: { lo: number; hi: number; customers: number }[]
  total_customers: number
}

export interface TagInput {
  code: string
  name_zh: string
  name_en?: string
  description?: string
  kind: 'rule' | 'import'
  definition?: { when: Record<string, unknown>; value: string } | null
  schedule?: string | null
}

export type TagPatch = Partial<Omit<TagInput, 'code' | 'kind'>>

export interface TagImportReport {
  rows: number
  imported: number
  unknown: number
  unknown_ids: string[]
  duplicates: number
}

export interface ProfileSummary {
  orders: number | null
  monetary_fen: number | null
  rfm_group: string | null
  last_order_at: string | null
  last_seen_at: string | null
  age_band: string | null
  city_tier: number | null
}

export interface CustomerRow extends StaffUser {
  profile: ProfileSummary | null
}

export interface CustomerTag {
  code: string
  name_zh: string
  name_en: string
  family: string
  kind: string
  value: string | null
  score: number | null
  evidence: Record<string, unknown>
  computed_at: string | null
}

/** One row of the profile store's customer table (the columns of docs/profiles.md). */
export interface CustomerProfileRow {
  user_id: string
  computed_at: string
  gender: string | null
  age: number | null
  age_band: string | null
  is_minor: boolean
  city: string | null
  city_tier: number | null
  region: string | null
  occupation: string | null
  orders: number
  first_order_at: string | null
  last_order_at: string | null
  recency_days: number | null
  monetary_fen: number
  aov_fen: number | null
  purchase_interval_days: number | null
  price_sensitivity: number | null
  r_score: number | null
  f_score: number | null
  m_score: number | null
  rfm_group: string | null
  p_alive: number | null
  expected_orders_90d: number | null
  expected_value_12m_fen: number | null
  churn_risk: number | null
  propensity_30d: number | null
  top_categories: string[]
  top_brands: string[]
  events: number
  sessions: number
  product_views: number
  searches: number
  cart_adds: number
  last_seen_at: string | null
  last_active_days: number | null
  consent_marketing_sms: boolean
  consent_marketing_email: boolean
  consent_marketing_push: boolean
  consent_personalization: boolean
  consent_health_profile: boolean
  [column: string]: unknown
}

export interface SegmentMembership {
  id: number
  name: string
  /** When the customer entered the segment (UTC). */
  since: string
  /** The segment reads health data. */
  sensitive: boolean
}

export interface CustomerProfile {
  user: StaffUserDetail
  built: boolean
  as_of: string | null
  profile: CustomerProfileRow | null
  tags: CustomerTag[]
  interests: { kind: 'category' | 'brand' | string; key: string; score: number }[]
  activity: { day: string; event: string; count: number }[]
  /** The segments the customer is in now; those that read health data come with the health tags. */
  segments: SegmentMembership[]
  timeline_user_id: string
  can_read_health: boolean
}

export interface HealthCondition {
  condition: string
  name_zh: string
  name_en: string
  confidence: number
  evidence: Record<string, unknown>
  medicine_product_id: number | null
  next_refill_date: string | null
}

export interface CustomerHealth {
  user_id: number
  /** The health_profile consent in force now. */
  consent: boolean
  conditions: HealthCondition[]
  /** The segments reading health data the customer is in (none without the consent). */
  segments: SegmentMembership[]
}

export interface ProfilesStatus {
  built: boolean
  manifest: { build: string; as_of: string; built_at: string; engine: string; rows: Record<string, number> } | null
}
