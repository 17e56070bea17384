package io.quarry.config.validation;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** A Quartz cron expression: 6 or 7 fields, the first being seconds. */
@Target({ElementType.FIELD, ElementType.PARAMETER, ElementType.RECORD_COMPONENT})
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = QuartzCronValidator.class)
public @interface QuartzCron {
  String message() default "is not a valid Quartz cron expression";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};
}
