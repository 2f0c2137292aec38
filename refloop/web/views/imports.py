"""Imports (upload, sources and their mappings, runs with progress, the quarantine) and exports."""

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from refloop.core.access_log import access_log_write, access_log_write_many
from refloop.core.errors import DomainError
from refloop.core.models import AccessLogEntry
from refloop.interop.files.exports import CONTENT_TYPES, csv_lines, parquet_file, xlsx_file
from refloop.interop.files.forms import DismissForm, ExportForm, RowForm, SourceForm, UploadForm
from refloop.interop.files.models import ImportRun, ImportSource, QuarantinedRow
from refloop.interop.files.queries import export_dataset, run_quarantine, runs_recent, sources_all
from refloop.interop.files.services import (
    SOURCE_PERMISSION,
    import_resume,
    import_start,
    quarantine_dismiss,
    quarantine_reimport,
    source_save,
)
from refloop.web.errors import domain_error_render
from refloop.web.views import requires


@requires("receive_referral")
def import_index(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    context = {
        "form": form,
        "runs": runs_recent(),
        "sources": sources_all(),
        "can_edit_sources": request.user.has_perm(f"core.{SOURCE_PERMISSION}"),
    }
    if request.method != "POST":
        return render(request, "web/imports/index.html", context)
    if not form.is_valid():
        return render(request, "web/imports/index.html", context, status=400)
    upload = form.cleaned_data["file"]
    try:
        run = import_start(
            source_id=form.cleaned_data["source"].pk,
            filename=upload.name,
            content=upload.read(),
            actor=request.user,
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/imports/index.html", context)
    messages.success(request, f"File kept; import {run.pk} queued.")
    return redirect("imports_run", pk=run.pk)


@requires(SOURCE_PERMISSION)
def source_edit(request, pk=None):
    source = None
    if pk is not None:
        source = ImportSource.objects.filter(pk=pk).first()
        if source is None:
            raise Http404("No such source.")
    form = SourceForm(request.POST or None, source=source)
    context = {"form": form, "source": source}
    if request.method != "POST":
        return render(request, "web/imports/source.html", context)
    if not form.is_valid():
        return render(request, "web/imports/source.html", context, status=400)
    try:
        saved = source_save(
            name=form.cleaned_data["name"],
            mapping=form.mapping(),
            actor=request.user,
            source_id=pk,
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/imports/source.html", context)
    messages.success(request, f"Source {saved.name} saved.")
    return redirect("imports")


def _run_or_404(pk: int) -> ImportRun:
    run = ImportRun.objects.select_related("source", "created_by").filter(pk=pk).first()
    if run is None:
        raise Http404("No such import.")
    return run


@requires("receive_referral")
def run_detail(request, pk):
    run = _run_or_404(pk)
    quarantine = run_quarantine(run_id=run.pk)
    if quarantine:
        # The rows as given carry patients' names: who saw them goes in the log.
        access_log_write_many(
            request=request,
            action=AccessLogEntry.Action.LIST,
            object_type="quarantined_row",
            rows=[(row.pk, None) for row in quarantine],
        )
    context = {
        "run": run,
        "quarantine": quarantine,
        "open_count": run.quarantine.filter(status=QuarantinedRow.Status.OPEN).count(),
        "now": timezone.now(),
    }
    return render(request, "web/imports/run.html", context)


@require_POST
@requires("receive_referral")
def run_resume(request, pk):
    run = import_resume(run_id=pk, actor=request.user)
    messages.success(request, f"Import {run.pk} queued to carry on from row {run.rows_done}.")
    return redirect("imports_run", pk=run.pk)


@requires("receive_referral")
def run_progress(request, pk):
    """The progress box (polled by the run page every 2 s while the run goes on), or as JSON.
    No patient data in it, so polling writes nothing to the access log."""
    run = _run_or_404(pk)
    if request.headers.get("HX-Request"):
        context = {"run": run, "now": timezone.now()}
        return render(request, "web/imports/_progress.html", context)
    return JsonResponse(
        {
            "status": run.status,
            "rows_total": run.rows_total,
            "rows_done": run.rows_done,
            "created": run.created,
            "duplicate": run.duplicate,
            "quarantined": run.quarantined,
            "percent": run.percent,
        }
    )


def _row_or_404(pk: int) -> QuarantinedRow:
    row = QuarantinedRow.objects.select_related("run__source", "referral").filter(pk=pk).first()
    if row is None:
        raise Http404("No such row.")
    return row


@requires("receive_referral")
def quarantine_row(request, pk):
    row = _row_or_404(pk)
    form = RowForm(request.POST or None, values=row.values)
    context = {"row": row, "form": form, "dismiss_form": DismissForm()}
    access_log_write(
        request=request,
        action=AccessLogEntry.Action.VIEW,
        object_type="quarantined_row",
        object_id=row.pk,
    )
    if request.method != "POST":
        return render(request, "web/imports/row.html", context)
    if not form.is_valid():
        return render(request, "web/imports/row.html", context, status=400)
    try:
        done = quarantine_reimport(row_id=row.pk, corrected=form.corrected(), actor=request.user)
    except DomainError as error:
        context["row"] = _row_or_404(pk)
        return domain_error_render(request, error, "web/imports/row.html", context)
    messages.success(request, f"Row {done.row_number} imported as {done.referral.number}.")
    return redirect("imports_run", pk=done.run_id)


@require_POST
@requires("receive_referral")
def quarantine_row_dismiss(request, pk):
    form = DismissForm(request.POST)
    if not form.is_valid():
        row = _row_or_404(pk)
        context = {"row": row, "form": RowForm(values=row.values), "dismiss_form": form}
        return render(request, "web/imports/row.html", context, status=400)
    row = quarantine_dismiss(row_id=pk, reason=form.cleaned_data["reason"], actor=request.user)
    messages.success(request, f"Row {row.row_number} dismissed.")
    return redirect("imports_run", pk=row.run_id)


@requires("view_phi", "view_aggregates")
def export(request):
    form = ExportForm(request.GET if "dataset" in request.GET else None)
    context = {"form": form, "phi": request.user.has_perm("core.view_phi")}
    if not form.is_bound:
        return render(request, "web/imports/export.html", context)
    if not form.is_valid():
        return render(request, "web/imports/export.html", context, status=400)
    try:
        dataset = export_dataset(
            dataset=form.cleaned_data["dataset"], filters=form.filters(), user=request.user
        )
    except DomainError as error:
        return domain_error_render(request, error, "web/imports/export.html", context)
    if dataset.per_referral:
        # One entry for the export, with what and how many (the rows are not listed one by one).
        access_log_write(
            request=request,
            action=AccessLogEntry.Action.EXPORT,
            object_type=f"export:{dataset.name}",
            object_id=f"{dataset.count} rows",
        )
    fmt = form.cleaned_data["format"]
    name = f"refloop-{dataset.name}-{timezone.localdate():%Y%m%d}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(csv_lines(dataset), content_type=CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    handle = xlsx_file(dataset) if fmt == "xlsx" else parquet_file(dataset)
    return FileResponse(handle, as_attachment=True, filename=name, content_type=CONTENT_TYPES[fmt])
