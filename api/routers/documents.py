"""``GET/POST/DELETE /documents``: list, read, upload and delete indexed documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.deps import READS, WRITES, Service, get_app_settings, ready_service
from api.errors import BODY_ERRORS, ERRORS, Responses
from api.schemas import DeleteResult, DocumentDetail, DocumentList, ErrorResponse, UploadResult

router = APIRouter(tags=["documents"])

#: Room for the multipart envelope around an upload of the maximum size.
MULTIPART_SLACK = 64 * 1024
UPLOAD_CHUNK = 1024 * 1024
NO_SUCH_DOCUMENT: Responses = {404: {"model": ErrorResponse, "description": "No such document."}}


@router.get("/documents", response_model=DocumentList, dependencies=READS, responses=ERRORS)
def documents(svc: Service) -> DocumentList:
    """The indexed documents."""
    return DocumentList.model_validate({"documents": svc.documents()})


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentDetail,
    dependencies=READS,
    responses={**ERRORS, **NO_SUCH_DOCUMENT},
)
def document(doc_id: str, svc: Service) -> DocumentDetail:
    """A document's record and all its passages (body first, then footnotes)."""
    return DocumentDetail.model_validate(svc.document(doc_id))


@router.post(
    "/documents",
    response_model=UploadResult,
    status_code=201,
    dependencies=WRITES,
    responses={
        **BODY_ERRORS,
        413: {"model": ErrorResponse, "description": "The file is larger than the upload limit."},
        415: {"model": ErrorResponse, "description": "Not a .txt or .pdf file."},
        422: {"model": ErrorResponse, "description": "Empty, corrupt, encrypted or unreadable file."},
    },
)
async def upload(
    request: Request,
    file: Annotated[UploadFile, File(description="A .txt (UTF-8 or detectable encoding) or .pdf file.")],
) -> UploadResult:
    """Add or update a document; ingested before the response (status added/updated/unchanged)."""
    svc = ready_service(request)
    limit = get_app_settings(request).max_upload_bytes
    if file.size is not None and file.size > limit:
        raise HTTPException(413, "too large")
    data = bytearray()
    while chunk := await file.read(UPLOAD_CHUNK):  # the body was capped already; count anyway
        data += chunk
        if len(data) > limit:
            raise HTTPException(413, "too large")
    outcome = await run_in_threadpool(svc.ingest_upload, file.filename, bytes(data))
    return UploadResult.model_validate(outcome)


@router.delete(
    "/documents/{doc_id}",
    response_model=DeleteResult,
    dependencies=WRITES,
    responses={**ERRORS, **NO_SUCH_DOCUMENT},
)
def delete_document(doc_id: str, svc: Service) -> DeleteResult:
    """Remove a document and all its passages from the index."""
    return DeleteResult.model_validate(svc.delete_document(doc_id))
