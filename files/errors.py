from reflex_project.api.errors import InvalidRequest, NotFound, RequestTooLarge


class FileNotFound(NotFound):
    default_code = "file_not_found"


class FileTooLarge(RequestTooLarge):
    pass


class WrongFilePurpose(InvalidRequest):
    default_code = "invalid_file_purpose"
