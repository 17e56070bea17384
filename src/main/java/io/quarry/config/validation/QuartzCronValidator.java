package io.quarry.config.validation;

import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import java.text.ParseException;
import org.quartz.CronExpression;

/** Checks a Quartz cron expression and reports Quartz's own reason when it is wrong. */
public class QuartzCronValidator implements ConstraintValidator<QuartzCron, String> {

  @Override
  public boolean isValid(String value, ConstraintValidatorContext context) {
    if (value == null || value.isBlank()) {
      return reject(context, "must be a Quartz cron expression with seconds, e.g. '0 */5 * * * ?'");
    }
    int fields = value.trim().split("\\s+").length;
    if (fields < 6 || fields > 7) {
      return reject(
          context,
          "has "
              + fields
              + " fields; Quartz cron needs 6 or 7 (seconds first), e.g. '0 */5 * * * ?'");
    }
    try {
      CronExpression.validateExpression(value);
      return true;
    } catch (ParseException e) {
      return reject(context, "is not a valid Quartz cron expression: " + e.getMessage());
    }
  }

  private static boolean reject(ConstraintValidatorContext context, String message) {
    context.disableDefaultConstraintViolation();
    context
        .buildConstraintViolationWithTemplate(message.replace("{", "\\{").replace("$", "\\$"))
        .addConstraintViolation();
    return false;
  }
}
