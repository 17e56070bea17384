package io.quarry.config.validation;

import io.quarry.config.StreamProperties;
import io.quarry.platform.InvalidApiSettingException;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;

/**
 * Builds the stream's {@link io.quarry.platform.StreamApi} once at start-up, so a setting that
 * cannot work stops Quarry with its key instead of dead-lettering every page later. The
 * platform-wide settings are stood in for by valid ones: they have checks of their own.
 */
public class WorkingApiValidator implements ConstraintValidator<WorkingApi, StreamProperties> {

  @Override
  public boolean isValid(StreamProperties stream, ConstraintValidatorContext context) {
    if (stream == null || !stream.customisesApi() || stream.apiPath() == null) {
      return true;
    }
    try {
      stream.api("/items", "/nextMarker", "/hasMore", "id", "header", "access_token");
      return true;
    } catch (InvalidApiSettingException e) {
      if ("api-path".equals(e.key())) {
        return true; // reported by its own constraint
      }
      context.disableDefaultConstraintViolation();
      String[] path = e.key().split("\\.");
      var node =
          context.buildConstraintViolationWithTemplate(escape(e.reason())).addPropertyNode(path[0]);
      for (int i = 1; i < path.length; i++) {
        node = node.addPropertyNode(path[i]);
      }
      node.addConstraintViolation();
      return false;
    }
  }

  /** Braces and dollars would be read as message expressions. */
  private static String escape(String message) {
    return message
        .replace("\\", "\\\\")
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("$", "\\$");
  }
}
