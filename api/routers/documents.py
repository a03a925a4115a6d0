"""``/documents``: list, read, upload and delete indexed documents; ``/jobs/{id}``: upload jobs.

An upload is checked at once (key, size, name, type, pages, document id) and then ingested
by a background job: ``POST /documents`` answers ``202`` with the job's ``status_url``, and
``GET /jobs/{id}`` says ``queued``, ``running``, ``done`` (with the result) or ``failed`` (with
the error and the status it would have had).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.deps import READS, WRITES, AppSettings, Service, get_app_settings, paths_context, ready_service
from api.errors import BODY_ERRORS, ERRORS, Responses, user_error
from api.schemas import (
    DeleteResult,
    DocumentDetail,
    DocumentList,
    ErrorResponse,
    JobError,
    JobInfo,
    UploadAccepted,
    UploadResult,
)
from core.errors import PolicyQAError
from qa.jobs import Job
from qa.uploads import safe_filename, upload_suffix

router = APIRouter(tags=["documents"])

#: Room for the multipart envelope around an upload of the maximum size.
MULTIPART_SLACK = 64 * 1024
UPLOAD_CHUNK = 1024 * 1024
NO_SUCH_DOCUMENT: Responses = {404: {"model": ErrorResponse, "description": "No such document."}}
CONFLICT: Responses = {
    409: {
        "model": ErrorResponse,
        "description": "The document exists (send replace=true), or an upload of it is queued or running.",
    }
}


@router.get("/documents", response_model=DocumentList, dependencies=READS, responses=ERRORS)
def documents(svc: Service, settings: AppSettings) -> DocumentList:
    """The indexed documents."""
    return DocumentList.model_validate({"documents": svc.documents()}, context=paths_context(settings))


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentDetail,
    dependencies=READS,
    responses={**ERRORS, **NO_SUCH_DOCUMENT},
)
def document(doc_id: str, svc: Service, settings: AppSettings) -> DocumentDetail:
    """A document's record and all its passages (body first, then footnotes)."""
    return DocumentDetail.model_validate(svc.document(doc_id), context=paths_context(settings))


@router.post(
    "/documents",
    response_model=UploadAccepted,
    status_code=202,
    dependencies=WRITES,
    responses={
        **BODY_ERRORS,
        **CONFLICT,
        413: {
            "model": ErrorResponse,
            "description": "The file is larger than the upload limit, or has too many pages.",
        },
        415: {"model": ErrorResponse, "description": "Not a .txt, .md or .pdf file."},
        422: {"model": ErrorResponse, "description": "Empty file, or a file name that cannot be stored."},
        429: {"model": ErrorResponse, "description": "Too many uploads are waiting; retry later."},
    },
)
async def upload(
    request: Request,
    file: Annotated[UploadFile, File(description="A .txt (UTF-8 or detectable encoding), .md or .pdf file.")],
    replace: Annotated[
        bool,
        Form(
            description="Replace the document of the same id (upload-<name of the file>) if it exists; "
            "without it, an upload whose id is taken is a 409."
        ),
    ] = False,
) -> JSONResponse:
    """Queue a document to be added (or replaced): 202 with the job to poll.

    Its id is `upload-<slug of the file name>`, apart from the corpus documents' ids. Corrupt,
    encrypted, scanned or oversized (passages) files are found by the job: `GET /jobs/{id}`
    then says `failed` with the reason.
    """
    limit = get_app_settings(request).max_upload_bytes
    name = safe_filename(file.filename)  # a bad name or type is refused before the service is asked
    upload_suffix(name, b"")
    if file.size is not None and file.size > limit:
        raise HTTPException(413, "too large")
    data = bytearray()
    while chunk := await file.read(UPLOAD_CHUNK):  # the body was capped already; count anyway
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, "too large")
    svc = ready_service(request)
    job = await run_in_threadpool(svc.submit_upload, file.filename, bytes(data), replace)
    status_url = str(request.app.url_path_for("job", job_id=job.id))
    accepted = UploadAccepted(job_id=job.id, status_url=status_url, doc_id=job.key, status=job.status)
    return JSONResponse(accepted.model_dump(), status_code=202, headers={"Location": status_url})


def job_info(job: Job) -> JobInfo:
    error = None
    if job.error is not None:
        if isinstance(job.error, PolicyQAError):
            status, message, _ = user_error(job.error)
        else:
            status, message = (
                500,
                "Internal error: this is a bug in the service, not in your file. It has been logged.",
            )
        error = JobError(status=status, error=message, type=type(job.error).__name__)
    return JobInfo(
        job_id=job.id,
        doc_id=job.key,
        filename=job.filename,
        status=job.status,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        result=UploadResult.model_validate(job.result) if job.status == "done" else None,
        error=error,
    )


@router.get(
    "/jobs/{job_id}",
    name="job",
    response_model=JobInfo,
    dependencies=WRITES,
    tags=["documents"],
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such job."}},
)
def job(job_id: str, svc: Service) -> JobInfo:
    """An upload job: queued, running, done (with the result) or failed (with the error)."""
    return job_info(svc.job(job_id))


@router.delete(
    "/documents/{doc_id}",
    response_model=DeleteResult,
    dependencies=WRITES,
    responses={**ERRORS, **NO_SUCH_DOCUMENT, **CONFLICT},
)
def delete_document(doc_id: str, svc: Service) -> DeleteResult:
    """Remove a document, all its passages, and (for an upload) its kept copy."""
    return DeleteResult.model_validate(svc.delete_document(doc_id))
