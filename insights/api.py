"""``GET /api/v1/metrics/adoption`` (``docs/api.md``, "Adoption metrics"): the figures of
every client account and of the firm over a period, as JSON or, with ``?format=csv``, as a
CSV file. Firm admins only: the firm's other people get 403, anyone else 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from accounts.errors import Invalid
from accounts.http import api_endpoint
from insights.export import adoption_csv, csv_filename
from insights.period import period_parse
from insights.selectors.adoption import ACTIVE_BAR, adoption, metrics_account, metrics_gate

FORMATS = ("json", "csv")


def adoption_request(request: HttpRequest):
    """The figures a request asks for (``?from=&to=&since=&account=``), shared by the API
    and the page: NotFound/Forbidden as ``metrics_gate``, Invalid naming bad fields."""
    metrics_gate(request.user)
    period = period_parse(
        first=request.GET.get("from"),
        end=request.GET.get("to"),
        since=request.GET.get("since"),
        today=timezone.localdate(),
    )
    named = request.GET.get("account")
    account = metrics_account(request.user, named) if named else None
    return adoption(request.user, period, account=account)


@api_endpoint("GET")
def adoption_metrics(request: HttpRequest) -> HttpResponse:
    metrics_gate(request.user)
    wanted = request.GET.get("format") or "json"
    if wanted not in FORMATS:
        raise Invalid("format is json or csv.", fields={"format": "invalid"})
    result = adoption_request(request)
    if wanted == "csv":
        response = HttpResponse(adoption_csv(result), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=csv_filename(result)
        )
        return response
    return JsonResponse(
        {
            "period": result.period.as_json(),
            "active_bar": ACTIVE_BAR,
            "accounts": result.accounts,
            "firm": result.firm,
        }
    )
