"""Localized messages for error codes. zh-CN is the default; English on Accept-Language: en."""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    # code: (zh-CN, en)
    "VALIDATION_ERROR": ("请求参数有误", "The request has invalid fields"),
    "MALFORMED_BODY": ("请求体不是有效的 JSON", "The request body is not valid JSON"),
    "BODY_TOO_LARGE": ("请求体过大（上限 {limit} 字节）", "Request body too large (limit {limit} bytes)"),
    "BODY_TOO_DEEP": (
        "请求体嵌套层数过多（上限 {limit} 层）",
        "The request body nests too deeply (limit {limit} levels)",
    ),
    "NOT_FOUND": ("资源不存在", "Not found"),
    "METHOD_NOT_ALLOWED": ("不支持该请求方法", "Method not allowed"),
    "NOT_AUTHENTICATED": ("请先登录", "Authentication required"),
    "INVALID_TOKEN": ("登录凭证无效", "The token is invalid"),
    "TOKEN_EXPIRED": ("登录已过期，请重新登录", "The token has expired"),
    "PERMISSION_DENIED": ("没有权限：需要 {permission}", "Permission denied: {permission} required"),
    "INVALID_CREDENTIALS": ("账号或密码错误", "Wrong login or password"),
    "LOGIN_LOCKED": (
        "登录失败次数过多，请 {retry_after} 秒后再试",
        "Too many failed logins; try again in {retry_after} s",
    ),
    "ACCOUNT_DISABLED": ("账号已停用", "This account is disabled"),
    "LOGIN_TAKEN": ("该{field}已被注册", "This {field} is already registered"),
    "CONFLICT": ("数据冲突", "Conflict"),
    "ROLE_UNKNOWN": ("角色不存在：{role}", "Unknown role: {role}"),
    "ROLE_BUILTIN": ("内置角色不可删除或改名", "Built-in roles cannot be deleted"),
    "ROLE_IN_USE": ("角色仍有用户，不能删除", "The role is still assigned to users"),
    "ROLE_NOT_STAFF": ("员工账号不能使用顾客角色", "Staff accounts cannot hold the customer role"),
    "PERMISSION_UNKNOWN": ("权限不存在：{permission}", "Unknown permission: {permission}"),
    "WRONG_PASSWORD": ("当前密码不正确", "The current password is wrong"),
    "AGREEMENT_REQUIRED": (
        "请阅读并同意最新版本的《用户协议》和《隐私政策》（{document}：{version}）",
        "Please read and accept the current User Agreement and Privacy Policy ({document}: {version})",
    ),
    "PASSWORD_TOO_SHORT": ("密码至少需要 {min_length} 位", "The password needs at least {min_length} characters"),
    "PASSWORD_TOO_COMMON": (
        "这是常用密码或与常用密码相近，很容易被猜到，请换一个",
        "This is, or is close to, a commonly used password and easy to guess; choose another",
    ),
    "PASSWORD_LIKE_PERSONAL": (
        "密码不能包含或接近您的手机号、邮箱或昵称",
        "The password must not contain or resemble your phone number, email or name",
    ),
    "PASSWORD_TOO_WEAK": (
        "密码太容易被猜到：避免重复或连续的字符、日期和键盘顺序，可以用几个不相关的词加上数字或符号",
        "The password is too easy to guess: avoid repeats, sequences, dates and keyboard patterns; "
        "try a few unrelated words with digits or symbols",
    ),
    "LAST_ADMIN": ("不能移除最后一个管理员", "The last active admin cannot be removed"),
    # catalog
    "CATEGORY_UNKNOWN": ("分类不存在：{category}", "Unknown category: {category}"),
    "CATEGORY_CYCLE": ("分类不能挂在自己的下级分类下", "A category cannot sit under its own descendant"),
    "SKU_TAKEN": ("商品编码已存在：{sku}", "SKU already exists: {sku}"),
    "IMPORT_UNREADABLE": ("无法读取导入文件（{reason}）", "The import file cannot be read ({reason})"),
    "IMPORT_UNSUPPORTED": ("仅支持 CSV 或 XLSX 文件", "Only CSV or XLSX files are supported"),
    "IMPORT_TOO_MANY_ROWS": ("单次导入最多 {limit} 行", "At most {limit} rows per import"),
    "INGREDIENTS_REQUIRED": (
        "药品（处方药、甲类/乙类非处方药）须填写有效成分",
        "A drug (Rx or OTC) needs its active ingredients",
    ),
    # cart and orders
    "OUT_OF_STOCK": ("库存不足：{product}", "Out of stock: {product}"),
    "QUANTITY_LIMIT": ("超出限购数量（每单最多 {limit} 件）", "Over the quantity limit ({limit} per order)"),
    "RX_PRESCRIPTION_REQUIRED": ("处方药须凭处方购买，请先上传处方", "A prescription is required for this product"),
    "RX_RISK_NOT_CONFIRMED": (
        "请确认处方药风险告知：处方药须凭处方在药师指导下购买和使用",
        "Please confirm the prescription-drug risk notice",
    ),
    "RX_NOT_COVERED": (
        "处方未包含该药品或数量不足：{product}",
        "The prescription does not cover this product or quantity: {product}",
    ),
    "PRODUCT_UNAVAILABLE": ("商品不可购买", "The product cannot be bought"),
    "CART_EMPTY": ("购物车是空的", "The cart is empty"),
    "IDEMPOTENCY_KEY_REUSED": (
        "同一个幂等键不能用于不同的下单请求",
        "This Idempotency-Key was used for a different order request",
    ),
    "ORDER_STATE_CONFLICT": ("订单当前状态（{current}）不允许此操作", "Not allowed while the order is {current}"),
    "ORDER_NOT_PAYABLE": ("订单当前状态（{current}）不能支付", "The order cannot be paid while {current}"),
    "PAYMENT_GATEWAY_UNAVAILABLE": ("支付网关暂时无法连接，请稍后再试", "The payment gateway cannot be reached"),
    "PAYMENT_GATEWAY_ERROR": ("支付网关返回错误：{reason}", "The payment gateway refused: {reason}"),
    # prescriptions and reviews
    "PRESCRIPTION_FILE_TYPE": ("处方文件须为 JPG、PNG 或 PDF", "The prescription must be a JPG, PNG or PDF file"),
    "PRESCRIPTION_FILE_TOO_LARGE": ("处方文件过大（上限 {limit} 字节）", "The file is too large (limit {limit} bytes)"),
    "PRESCRIPTION_FILE_EMPTY": ("处方文件为空", "The file is empty"),
    "PRESCRIPTION_DUPLICATE": ("该处方已被提交过", "This prescription was already submitted"),
    "PRESCRIPTION_NOT_NEEDED": ("非处方药无需上传处方：{product}", "Not a prescription drug: {product}"),
    "PRESCRIPTION_USED": ("处方已被使用，一张处方只能购药一次", "The prescription has already been used"),
    "PRESCRIPTION_ALREADY_REVIEWED": ("处方已审核（{current}）", "The prescription was already reviewed ({current})"),
    "PRESCRIPTION_DATED_IN_FUTURE": (
        "处方开具日期（{issued_on}）不能晚于今天",
        "The prescription cannot be dated in the future ({issued_on})",
    ),
    "PRESCRIPTION_EXPIRED": (
        "处方已过有效期（有效至 {valid_until}）：处方开具当日有效，医师注明时最长 3 天",
        "The prescription is no longer valid (valid until {valid_until}): a prescription is valid on the day "
        "it is issued, at most 3 days when the prescriber says so",
    ),
    "PATIENT_AGE_REQUIRED": ("请填写用药人的出生日期或年龄", "Give the patient's birth date or age"),
    "PATIENT_BIRTH_DATE_INVALID": ("用药人出生日期不正确", "The patient's birth date is not valid"),
    "PATIENT_PREGNANCY_INVALID": (
        "男性用药人无需填写妊娠或哺乳情况",
        "Pregnancy or breastfeeding applies to a female patient only",
    ),
    "PHARMACIST_LICENCE_REQUIRED": (
        "审方药师须登记执业药师注册证号",
        "A pharmacist's practice licence must be on file to review",
    ),
    "REVIEW_NOT_A_BUYER": ("购买并收货后才能评价", "Only buyers can review this product"),
    "REVIEW_EXISTS": ("您已评价过", "You have already reviewed this purchase"),
    "REVIEW_ALREADY_MODERATED": ("评价已审核（{current}）", "The review was already moderated ({current})"),
    # promotions, coupons, membership
    "PROMO_RX_NOT_ALLOWED": ("处方药不得参与促销或营销：{product}", "Prescription drugs cannot be promoted: {product}"),
    "GIFT_DRUG_FORBIDDEN": (
        "赠品不能是药品（禁止买药赠药）：{product}",
        "A gift cannot be a drug (no 'buy a drug, get a drug'): {product}",
    ),
    "PROMO_STATE_CONFLICT": ("当前状态（{current}）不能执行此操作", "Not allowed while {current}"),
    "PROMO_SELF_REVIEW": ("不能审核自己提交的促销", "You cannot review what you submitted yourself"),
    "FLASH_SOLD_OUT": ("秒杀商品已抢光", "The flash sale is sold out"),
    "FLASH_LIMIT_REACHED": ("已达到每人限购数量（{limit} 件）", "Your limit for this flash sale is reached ({limit})"),
    "FLASH_NOT_RUNNING": ("秒杀活动未开始或已结束", "The flash sale is not running"),
    "COUPON_NOT_FOUND": ("优惠券不存在", "Coupon not found"),
    "COUPON_NOT_AVAILABLE": ("优惠券当前不可用（{current}）", "The coupon cannot be used now ({current})"),
    "COUPON_MEMBERS_ONLY": ("该优惠券仅限会员等级 {level} 及以上领取", "Members of level {level} and above only"),
    "COUPON_LIMIT_REACHED": ("已达到每人领取上限（{limit} 张）", "You already hold the most allowed ({limit})"),
    "COUPON_SOLD_OUT": ("优惠券已领完", "All of these coupons have been given out"),
    "COUPON_CODE_UNKNOWN": ("兑换码不存在", "Unknown coupon code"),
    "COUPON_CODE_USED": ("兑换码已被使用", "This code has already been redeemed"),
    "COUPON_CODE_RATE_LIMITED": (
        "兑换码尝试次数过多，请 {retry_after} 秒后再试",
        "Too many coupon codes tried; try again in {retry_after} s",
    ),
    "COUPON_MIN_SPEND": (
        "未达到优惠券使用门槛（按优惠后金额计算）",
        "The order does not reach the coupon's minimum spend (after discounts)",
    ),
    "COUPON_NOT_APPLICABLE": ("订单中没有可用此优惠券的商品", "No item in the order can use this coupon"),
    "COUPON_NOT_COMBINABLE": (
        "已享受的促销不能与优惠券同时使用",
        "The promotion applied cannot be combined with a coupon",
    ),
    "POINTS_INSUFFICIENT": ("积分不足（当前 {balance}）", "Not enough points (balance {balance})"),
    # collector
    "INVALID_WRITE_KEY": ("写入密钥无效或已吊销", "The write key is invalid or revoked"),
    "BATCH_TOO_LARGE": ("批量请求过大（上限 {limit} 字节）", "The batch is too large (limit {limit} bytes)"),
    "EVENT_REJECTED": ("事件被拒收：{reason}", "The event was rejected: {reason}"),
    "TRACKING_RATE_LIMITED": (
        "上报过于频繁，请 {retry_after} 秒后再试",
        "Too many collector calls; try again in {retry_after} s",
    ),
    "SOURCE_INTERNAL": (
        "「{name}」是系统内置数据源，没有写入密钥，不能轮换或吊销",
        "{name} is a built-in source without a write key; it cannot be rotated or revoked",
    ),
    "BACKUP_CORRUPT": ("备份文件已损坏或被改动：{file}", "The backup file is damaged or was changed: {file}"),
    "BACKUP_KEY_MISMATCH": (
        "备份使用的加密密钥与当前不同，无法恢复",
        "The backup was made with another encryption key",
    ),
    "BACKUP_REVISION_MISMATCH": (
        "备份的数据库结构版本（{backup}）与当前（{database}）不同，请先升级到相同版本",
        "The backup's schema revision ({backup}) differs from the database's ({database})",
    ),
    "JOB_ALREADY_RUNNING": (
        "任务 {job} 正在运行，请等待本次运行结束",
        "Job {job} is already running; wait for this run to end",
    ),
    "JOB_NEEDS_PARAMETERS": (
        "该任务需要参数（{params}），请从数据集页面启动",
        "This job needs parameters ({params}); start it from the datasets page",
    ),
    "UNSUPPORTED_FILE_TYPE": ("不支持的文件类型，可用：{allowed}", "Unsupported file type; use one of {allowed}"),
    "EMPTY_FILE": ("文件是空的", "The file is empty"),
    # insights: experiments
    "EXPERIMENT_FILE_UNREADABLE": (
        "无法读取该 CSV 文件（须为 UTF-8）：{reason}",
        "Cannot read the CSV file (UTF-8): {reason}",
    ),
    "EXPERIMENT_MISSING_COLUMNS": (
        "缺少列：{columns}（需要 group、converted、revenue，可选 pre_revenue）",
        "Missing columns: {columns} (needed: group, converted, revenue; optional: pre_revenue)",
    ),
    "EXPERIMENT_EMPTY_GROUP": ("第 {row} 行：group 为空", "Row {row}: the group is empty"),
    "EXPERIMENT_BAD_CONVERTED": (
        "第 {row} 行：converted 须为 0/1 或 true/false，而不是“{value}”",
        "Row {row}: converted must be 0/1 or true/false, not '{value}'",
    ),
    "EXPERIMENT_BAD_NUMBER": (
        "第 {row} 行：{field} 须为数字，而不是“{value}”",
        "Row {row}: {field} must be a number, not '{value}'",
    ),
    "EXPERIMENT_UNKNOWN_CONTROL": (
        "没有名为 {control} 的组；文件中的组：{groups}",
        "No group named {control}; the groups are {groups}",
    ),
    "EXPERIMENT_TOO_FEW_GROUPS": (
        "需要对照组和至少一个实验组；文件中只有：{groups}",
        "An experiment needs a control and at least one other group; the file has only {groups}",
    ),
    "EXPERIMENT_SPLIT_INVALID": (
        "计划分流应写成 组=权重，用逗号分隔，权重为正数且组名不重复（如 control=0.1,a=0.45,b=0.45）：{item}",
        "The planned split is name=weight pairs with positive weights and distinct names "
        "(e.g. control=0.1,a=0.45,b=0.45): {item}",
    ),
    "EXPERIMENT_SPLIT_MISSING_GROUPS": (
        "计划分流缺少文件中的组：{groups}",
        "The planned split leaves out groups in the file: {groups}",
    ),
    "METRICS_TOKEN_REQUIRED": (
        "读取指标需要指标令牌或内网地址",
        "Metrics are served with the metrics token or to an internal address",
    ),
    "CATALOG_TOO_LARGE": (
        "模型 {model} 最多支持 {limit} 个商品，当前有 {items} 个",
        "The {model} model handles at most {limit} items; this catalog has {items}",
    ),
    # profiles: the tag catalogue
    "TAG_WORD_BANNED": (
        "标签不能含有禁止用语“{word}”（{group}，词表版本 {version}）",
        'A tag cannot contain the banned word "{word}" ({group}, list version {version})',
    ),
    "CONDITION_INVALID": ("条件有误：{reason}", "Invalid condition: {reason}"),
    "TAG_SENSITIVE_SOURCE": (
        "规则标签不能使用健康数据或敏感标签（这类条件请在分群中使用，并记录影响评估）",
        "A rule tag cannot use health data or sensitive tags (use them in a segment, with an impact assessment)",
    ),
    "TAG_EXISTS": ("标签编码 {tag} 已存在", "A tag with the code {tag} exists"),
    "TAG_BUILTIN": ("内置标签不能修改或删除", "Built-in tags cannot be edited or deleted"),
    "TAG_KIND": ("该操作不适用于此类标签（{kind}）", "This does not apply to a tag of this kind ({kind})"),
    "PROFILES_NOT_BUILT": (
        "用户画像尚未构建，请先运行“构建用户画像与标签”",
        "The customer profiles have not been built yet: run build_profiles first",
    ),
    "SEGMENT_EXISTS": ("分群名称“{name}”已存在", "A segment named {name} exists"),
    "SEGMENT_EXCLUSION_INVALID": ("没有编号为 {segment} 的其他分群", "There is no other segment with the id {segment}"),
    "SEGMENT_IMPACT_ASSESSMENT_REQUIRED": (
        "使用健康数据或敏感标签的分群须填写个人信息保护影响评估编号",
        "A segment that uses health data or a sensitive tag needs the id of its personal information impact assessment",
    ),
    "SEGMENT_IN_USE": (
        "分群“{segment}”排除了此分群，请先修改它",
        "The segment {segment} excludes this one: change it first",
    ),
    # profiles: behaviour analysis
    "BEHAVIOUR_NO_DATA": (
        "尚无清洗后的行为事件，请先运行“清洗行为事件并按日汇总”",
        "There are no clean events yet: run clean_events first",
    ),
    "BEHAVIOUR_RANGE_INVALID": (
        "日期范围有误：开始日期不能晚于结束日期，范围最长 {max_days} 天",
        "Invalid date range: the start cannot be after the end, and a range spans at most {max_days} days",
    ),
    # profiles: personas and predictive models
    "MODEL_NO_DATA": (
        "湖中尚无行为事件，无法训练模型或划分人群画像",
        "The lake has no events yet: there is nothing to train a model or find personas on",
    ),
    "MODEL_TOO_FEW_LABELS": (
        "训练数据不足：{customers} 位客户中正例 {positives} 个，每一类至少需要 5 个才能做 5 折交叉验证",
        "Too little data: {positives} positives among {customers} customers; 5-fold cross-validation needs at least "
        "5 of each class",
    ),
    "MODEL_NOT_PROMOTED": ("任务 {task} 尚无已发布的模型", "No model of the task {task} has been promoted"),
    "MODEL_ARTIFACT_MISSING": (
        "模型版本 {version} 的文件不在数据湖中，请重新训练",
        "The file of model version {version} is not in the lake: train again",
    ),
    "MODEL_MINOR": ("不对未成年人做营销预测", "No marketing prediction is made about a minor"),
    "MODEL_NOT_A_BUYER": (
        "任务 {task} 只针对已购买过的客户",
        "The task {task} is defined for customers who have bought only",
    ),
    "PERSONAS_TOO_FEW": (
        "客户太少（{customers} 位），至少需要 {needed} 位才能聚类",
        "Too few customers ({customers}) to cluster: at least {needed} are needed",
    ),
    "PERSONAS_NOT_RUN": ("尚未划分人群画像", "No personas have been computed yet"),
    "TRUTH_MISSING": (
        "没有模拟世界的真实情况（simulation/people.parquet），请先运行 medreach demo",
        "There is no ground truth of a simulated world (simulation/people.parquet): run medreach demo first",
    ),
    "INTERNAL_ERROR": ("服务器内部错误", "Internal server error"),
}


def message(code: str, lang: str = "zh-CN", **params) -> str:
    zh, en = MESSAGES.get(code, (code, code))
    text = en if lang.startswith("en") else zh
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def pick_language(accept_language: str | None) -> str:
    if accept_language and accept_language.strip().lower().startswith("en"):
        return "en"
    return "zh-CN"
