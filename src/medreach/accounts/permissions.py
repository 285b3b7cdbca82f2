"""The catalogue of permission strings and the built-in roles.

A route declares the one permission it needs (see accounts.deps.require); a role is a set of them.
Later domains add their permissions here, so the console's role editor shows every one.
"""

from __future__ import annotations

PERMISSIONS: dict[str, str] = {
    "users:read": "查看客户资料（脱敏）",
    "users:manage": "管理员工、角色与权限",
    "profiles:read": "查看用户画像与分群",
    "profiles:read_health": "查看健康标签（敏感个人信息；每次查看都记入审计）",
    "tags:write": "编辑标签目录（规则标签、导入标签、刷新）",
    "catalog:read": "查看商品后台数据",
    "catalog:write": "编辑商品、分类与库存",
    "orders:read_all": "查看所有订单",
    "orders:write": "处理订单（发货、退款、取消）",
    "pii:reveal": "按需查看完整个人信息（须说明用途，每次记入审计）",
    "rx:review": "审核处方",
    "reviews:moderate": "审核商品评价",
    "promotions:write": "编辑促销与优惠券",
    "promotions:approve": "审核发布促销",
    "campaign:read": "查看营销活动",
    "campaign:write": "编辑营销活动",
    "campaign:approve": "审批营销活动",
    "analytics:read": "查看数据分析与报表",
    "pipeline:run": "运行数据管道与模型",
    "sources:manage": "管理埋点数据源（新建、轮换与吊销写入密钥）",
    "audit:read": "查看审计日志",
    "system:admin": "系统管理（全部权限）",
}

BUILTIN_ROLES: dict[str, tuple[str, frozenset[str]]] = {
    "customer": ("顾客：只访问自己的数据", frozenset()),
    "pharmacist": (
        "药师：审核处方、解答用药问题",
        frozenset({"rx:review", "catalog:read", "orders:read_all", "users:read"}),
    ),
    "marketer": (
        "运营：分群、营销活动与促销",
        frozenset(
            {
                "campaign:read",
                "campaign:write",
                "promotions:write",
                "profiles:read",
                "tags:write",
                "analytics:read",
                "catalog:read",
                "users:read",
            }
        ),
    ),
    "analyst": (
        "数据分析：数据管道、模型与报表",
        frozenset({"analytics:read", "pipeline:run", "profiles:read", "tags:write", "catalog:read"}),
    ),
    "service": (
        "客服：订单、退款、投诉与隐私请求",
        frozenset({"orders:read_all", "orders:write", "users:read", "reviews:moderate", "catalog:read", "pii:reveal"}),
    ),
    "admin": ("管理员：用户、角色、审计与系统", frozenset(PERMISSIONS)),
}

STAFF_ROLES = frozenset(BUILTIN_ROLES) - {"customer"}


def expand(granted: set[str]) -> set[str]:
    """system:admin implies every permission."""
    return set(PERMISSIONS) if "system:admin" in granted else granted
