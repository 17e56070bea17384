package io.quarry.web;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonMappingException;
import jakarta.validation.ConstraintViolationException;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.hibernate.validator.constraints.Range;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.TypeMismatchException;
import org.springframework.context.MessageSourceResolvable;
import org.springframework.core.MethodParameter;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.validation.FieldError;
import org.springframework.validation.method.ParameterErrors;
import org.springframework.web.bind.MethodArgumentNotValidException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.HandlerMethodValidationException;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;

/**
 * Every error of the API as an RFC 9457 problem body ({@code application/problem+json}) whose
 * {@code detail} says what was wrong with the request: which parameter or field and what is
 * allowed. Spring MVC's own exceptions (an unknown path, a wrong method, a {@code
 * ResponseStatusException} of a controller) come as problems through the base class; this adds
 * useful details for bad values and maps input PostgreSQL refuses to 400 instead of 500.
 * Controllers keep their own handlers for their domain exceptions (404, 409).
 */
@RestControllerAdvice
public class ApiErrors extends ResponseEntityExceptionHandler {

  private static final Logger log = LoggerFactory.getLogger(ApiErrors.class);

  @Override
  protected ResponseEntity<Object> handleMethodArgumentNotValid(
      MethodArgumentNotValidException ex,
      HttpHeaders headers,
      HttpStatusCode status,
      WebRequest request) {
    String detail =
        ex.getBindingResult().getAllErrors().stream()
            .map(
                error ->
                    error instanceof FieldError field
                        ? field.getField() + ": " + field.getDefaultMessage()
                        : error.getDefaultMessage())
            .sorted()
            .collect(Collectors.joining("; "));
    return problem(ex, HttpStatus.BAD_REQUEST, detail, request);
  }

  @Override
  protected ResponseEntity<Object> handleHandlerMethodValidationException(
      HandlerMethodValidationException ex,
      HttpHeaders headers,
      HttpStatusCode status,
      WebRequest request) {
    String detail =
        ex.getParameterValidationResults().stream()
            .flatMap(
                result -> {
                  if (result instanceof ParameterErrors errors) {
                    return errors.getFieldErrors().stream()
                        .map(f -> f.getField() + ": " + f.getDefaultMessage());
                  }
                  String name = name(result.getMethodParameter());
                  return result.getResolvableErrors().stream()
                      .map(MessageSourceResolvable::getDefaultMessage)
                      .map(message -> name + ": " + message);
                })
            .sorted()
            .collect(Collectors.joining("; "));
    return problem(ex, HttpStatus.BAD_REQUEST, detail, request);
  }

  @Override
  protected ResponseEntity<Object> handleTypeMismatch(
      TypeMismatchException ex, HttpHeaders headers, HttpStatusCode status, WebRequest request) {
    String name = ex.getPropertyName();
    String expected = expected(ex.getRequiredType());
    String range = "";
    if (ex instanceof MethodArgumentTypeMismatchException mismatch) {
      name = mismatch.getName();
      Range bounds = mismatch.getParameter().getParameterAnnotation(Range.class);
      if (bounds != null) {
        range = " between " + bounds.min() + " and " + bounds.max();
      }
    }
    return problem(ex, HttpStatus.BAD_REQUEST, name + " must be " + expected + range, request);
  }

  @Override
  protected ResponseEntity<Object> handleHttpMessageNotReadable(
      HttpMessageNotReadableException ex,
      HttpHeaders headers,
      HttpStatusCode status,
      WebRequest request) {
    if (RequestBodyLimitFilter.causedByTooLarge(ex)) {
      HttpHeaders close = new HttpHeaders();
      close.set(HttpHeaders.CONNECTION, "close");
      ProblemDetail body =
          ProblemDetail.forStatusAndDetail(HttpStatus.PAYLOAD_TOO_LARGE, tooLarge(ex));
      return handleExceptionInternal(ex, body, close, HttpStatus.PAYLOAD_TOO_LARGE, request);
    }
    return problem(ex, HttpStatus.BAD_REQUEST, unreadable(ex), request);
  }

  /** Bean Validation outside Spring MVC's own (a {@code @Validated} service). */
  @ExceptionHandler(ConstraintViolationException.class)
  ProblemDetail constraintViolation(ConstraintViolationException e) {
    String detail =
        e.getConstraintViolations().stream()
            .map(v -> lastNode(v.getPropertyPath().toString()) + ": " + v.getMessage())
            .sorted()
            .collect(Collectors.joining("; "));
    return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, detail);
  }

  /**
   * A value PostgreSQL refuses: a data exception (SQLState class 22: a NUL in text, a timestamp out
   * of range, a number too large) came from the request, so it is the caller's 400; an integrity
   * constraint (class 23) is a 409. Anything else stays a server error.
   */
  @ExceptionHandler(DataIntegrityViolationException.class)
  ProblemDetail dataIntegrity(DataIntegrityViolationException e) {
    String state = sqlState(e);
    if (state != null && state.startsWith("22")) {
      log.info("Refused a value PostgreSQL does not accept (SQLState {})", state);
      return ProblemDetail.forStatusAndDetail(
          HttpStatus.BAD_REQUEST,
          "a value in the request cannot be stored (SQLState "
              + state
              + "): text must not contain NUL characters, times must be "
              + Inputs.range());
    }
    if (state != null && state.startsWith("23")) {
      return ProblemDetail.forStatusAndDetail(
          HttpStatus.CONFLICT, "the request conflicts with stored data (SQLState " + state + ")");
    }
    throw e;
  }

  private static String sqlState(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof SQLException sql && sql.getSQLState() != null) {
        return sql.getSQLState();
      }
    }
    return null;
  }

  private static String tooLarge(Throwable e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof RequestBodyLimitFilter.TooLargeException tooLarge) {
        return tooLarge.getMessage();
      }
    }
    return "the request body is too large";
  }

  /** What was wrong with the body, without echoing it. */
  private static String unreadable(HttpMessageNotReadableException e) {
    Throwable cause = e.getCause();
    if (cause instanceof JsonParseException parse) {
      return "the request body is not valid JSON (line "
          + parse.getLocation().getLineNr()
          + ", column "
          + parse.getLocation().getColumnNr()
          + ")";
    }
    if (cause instanceof JsonMappingException mapping && !mapping.getPath().isEmpty()) {
      StringBuilder path = new StringBuilder();
      for (JsonMappingException.Reference reference : mapping.getPath()) {
        if (reference.getFieldName() != null) {
          path.append(path.isEmpty() ? "" : ".").append(reference.getFieldName());
        } else if (reference.getIndex() >= 0) {
          path.append('[').append(reference.getIndex()).append(']');
        }
      }
      Class<?> target =
          cause instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException mismatch
              ? mismatch.getTargetType()
              : null;
      return path
          + (target == null
              ? " has a value of the wrong type"
              : " must be " + expected(target) + " in the request body");
    }
    if (cause instanceof JsonMappingException) {
      return "the request body must be a JSON object";
    }
    if (e.getMessage() != null && e.getMessage().startsWith("Required request body is missing")) {
      return "the request body is missing: a JSON object is expected";
    }
    return "the request body is not readable as JSON";
  }

  private static final Map<Class<?>, String> TYPES =
      Map.of(
          int.class, "a whole number",
          Integer.class, "a whole number",
          long.class, "a whole number",
          Long.class, "a whole number",
          String.class, "a string",
          boolean.class, "true or false",
          Boolean.class, "true or false",
          List.class, "an array");

  private static String expected(Class<?> type) {
    if (type == null) {
      return "of another type";
    }
    return TYPES.getOrDefault(type, "a " + type.getSimpleName());
  }

  private static String name(MethodParameter parameter) {
    var param =
        parameter.getParameterAnnotation(
            org.springframework.web.bind.annotation.RequestParam.class);
    if (param != null && !param.name().isEmpty()) {
      return param.name();
    }
    String name = parameter.getParameterName();
    return name == null ? "parameter " + parameter.getParameterIndex() : name;
  }

  private static String lastNode(String path) {
    int dot = path.lastIndexOf('.');
    return dot < 0 ? path : path.substring(dot + 1);
  }

  private ResponseEntity<Object> problem(
      Exception ex, HttpStatus status, String detail, WebRequest request) {
    ProblemDetail body = ProblemDetail.forStatusAndDetail(status, detail);
    return handleExceptionInternal(ex, body, new HttpHeaders(), status, request);
  }
}
