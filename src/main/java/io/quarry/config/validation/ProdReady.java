package io.quarry.config.validation;

import jakarta.validation.Constraint;
import jakarta.validation.Payload;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * In the {@code prod} profile: console passwords that {@link ProdCredentials} accepts, and no
 * default broker or database credentials unless {@code
 * quarry.security.allow-default-service-credentials} says the operator accepts them. Other profiles
 * are not checked.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Constraint(validatedBy = ProdReadyValidator.class)
public @interface ProdReady {
  String message() default "is not fit for the prod profile";

  Class<?>[] groups() default {};

  Class<? extends Payload>[] payload() default {};
}
