// Types mirroring the backend API contract (/api/v1).

export type Gender = 'male' | 'female' | 'other' | 'unknown'

export interface Tokens {
  access_token: string
  refresh_token: string
  token_type: 'bearer'
  expires_in: number
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

export interface ProductAdmin extends ProductInput {
  id: number
  category_name: string
  online_banned: boolean
  banned_reason: string
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
}

export interface CheckoutInput {
  address_id: number | string
  items?: OrderItemInput[]
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
  /** Promotions applied to the order (label and amount), when there are any. */
  adjustments?: { label: string; amount_fen: number; kind?: string; product_id?: number | null }[]
  history: StatusChange[]
  /** Customer: pay, cancel, confirm, refund, review. Staff: ship, approve_refund, reject_refund, cancel. */
  allowed_actions: string[]
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
  patient_name: string | null
  diagnosis: string | null
  reviewer_name: string
  reviewer_licence: string
  reviewed_at: string | null
  review_reason: string
  order_id: number | null
  created_at: string
  items: PrescriptionItem[]
  duplicate?: boolean
}

export interface EPrescriptionInput {
  hospital: string
  doctor: string
  rx_number: string
  issued_on: string
  patient_name: string
  diagnosis: string
  items: OrderItemInput[]
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
