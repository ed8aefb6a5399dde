"""The dashboard's words in Vietnamese (the default) and English."""

from __future__ import annotations

LANGUAGES = ("vi", "en")

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Trục liên thông văn bản", "Document interchange hub"),
    "overview": ("Tổng quan", "Overview"),
    "mailboxes": ("Hộp thư", "Mailboxes"),
    "trace": ("Tra cứu văn bản", "Document trace"),
    "dead_letters": ("Thư lỗi & cách ly", "Dead letters & quarantine"),
    "agencies": ("Cơ quan", "Agencies"),
    "login": ("Đăng nhập", "Log in"),
    "logout": ("Đăng xuất", "Log out"),
    "token": ("Mã truy cập của cán bộ vận hành", "Operator token"),
    "bad_token": ("Mã truy cập không đúng", "Unknown operator token"),
    "accepted": ("Đã nhận", "Accepted"),
    "refused": ("Bị từ chối", "Refused"),
    "delivered": ("Đã chuyển vào hộp thư", "Delivered to mailboxes"),
    "per_hour": ("theo giờ, 24 giờ qua", "per hour, last 24 hours"),
    "backlog": ("Tồn đọng hiện tại", "Current backlog"),
    "intake_backlog": ("Chờ xử lý ở trục", "Waiting at the hub's intake"),
    "pending": ("Chưa vào được hộp thư", "Not yet in a mailbox"),
    "waiting_in_mailboxes": ("Chờ trong các hộp thư", "Waiting in mailboxes"),
    "refusal_reasons": ("Lý do từ chối", "Refusal reasons"),
    "alerts": ("Cảnh báo", "Alerts"),
    "no_alerts": ("Không có cảnh báo", "No alerts"),
    "agency": ("Cơ quan", "Agency"),
    "queue": ("Hàng đợi", "Queue"),
    "waiting": ("Đang chờ", "Waiting"),
    "oldest": ("Lâu nhất", "Oldest"),
    "consumers": ("Kết nối nhận", "Consumers"),
    "last_consumed": ("Nhận lần cuối", "Last consumed"),
    "stuck": ("Ùn tắc", "Stuck"),
    "search": ("Tìm", "Search"),
    "search_hint": (
        "Mã phong bì, DocumentId, số/ký hiệu, nơi gửi, nơi nhận hoặc trích yếu",
        "Envelope id, DocumentId, code/notation, sender, recipient or subject",
    ),
    "no_results": ("Không tìm thấy văn bản nào", "No document found"),
    "sender": ("Nơi gửi", "Sender"),
    "recipient": ("Nơi nhận", "Recipient"),
    "subject": ("Trích yếu", "Subject"),
    "received_at": ("Thời điểm nhận", "Received"),
    "delivery": ("Chuyển phát", "Delivery"),
    "events": ("Diễn biến", "Events"),
    "reason": ("Lý do", "Reason"),
    "attempts": ("Số lần thử", "Attempts"),
    "replay": ("Gửi lại", "Replay"),
    "discard": ("Bỏ", "Discard"),
    "quarantine": ("Cách ly", "Quarantine"),
    "nothing_here": ("Không có mục nào", "Nothing here"),
    "state": ("Trạng thái", "State"),
    "certificates": ("Chứng thư số", "Certificates"),
    "expires": ("Hết hạn", "Expires"),
    "expiring": ("sắp hết hạn", "expiring soon"),
    "expired": ("đã hết hạn", "expired"),
    "broker_account": ("Tài khoản RabbitMQ", "Broker account"),
    "last_activity": ("Hoạt động cuối", "Last activity"),
    "never": ("chưa", "never"),
    "done": ("Đã thực hiện", "Done"),
    "needs_operator": ("Cần quyền vận hành", "Needs the operator role"),
    "show": ("Xem", "Show"),
}


def labels(language: str) -> dict[str, str]:
    """Every label in one language (Vietnamese unless English is asked for)."""
    index = 1 if language == "en" else 0
    return {key: pair[index] for key, pair in _LABELS.items()}
