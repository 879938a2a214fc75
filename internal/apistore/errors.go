package apistore

import (
	"errors"
	"fmt"
)

// Kind classifies an error the way API Gateway's control plane does, so a
// local control plane can answer with the same exception and status.
type Kind int

// The kinds, after API Gateway's exceptions
// (https://docs.aws.amazon.com/apigateway/latest/api/CommonErrors.html and
// each action's Errors section).
const (
	BadRequest    Kind = iota + 1 // BadRequestException, 400
	NotFound                      // NotFoundException, 404
	Conflict                      // ConflictException, 409
	LimitExceeded                 // LimitExceededException, 429
)

// Exception is the name of API Gateway's exception for this kind.
func (k Kind) Exception() string {
	switch k {
	case BadRequest:
		return "BadRequestException"
	case NotFound:
		return "NotFoundException"
	case Conflict:
		return "ConflictException"
	case LimitExceeded:
		return "LimitExceededException"
	}
	// AWS's common error for a failure of its own ("InternalFailure",
	// HTTP 500: https://docs.aws.amazon.com/apigateway/latest/api/CommonErrors.html;
	// API Gateway sends it, e.g. serverless/serverless#6690).
	return "InternalFailure"
}

// HTTPStatus is the status API Gateway answers this kind with.
func (k Kind) HTTPStatus() int {
	switch k {
	case BadRequest:
		return 400
	case NotFound:
		return 404
	case Conflict:
		return 409
	case LimitExceeded:
		return 429
	}
	return 500
}

// Error is a store error of a Kind. errors.Is(err, ErrNotFound) and the
// like match on the kind; errors.As(err, &*Error) gives the message.
type Error struct {
	Kind    Kind
	Message string
}

func (e *Error) Error() string { return e.Message }

// Is matches another *Error of the same kind (the sentinels below).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Message == ""
}

// Sentinels for errors.Is.
var (
	ErrBadRequest    = &Error{Kind: BadRequest}
	ErrNotFound      = &Error{Kind: NotFound}
	ErrConflict      = &Error{Kind: Conflict}
	ErrLimitExceeded = &Error{Kind: LimitExceeded}
)

func errorf(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// ConflictError is the refusal to put a key into a second usage plan on the
// same API stage. It matches ErrConflict and converts to *Error.
type ConflictError struct {
	KeyID, PlanID, OtherPlanID string
	APIID, Stage               string
}

func (e *ConflictError) Error() string {
	// API Gateway's wording, as quoted in aws/aws-cdk#11876.
	return fmt.Sprintf("Usage Plan %s cannot be added because API Key %s cannot reference multiple Usage Plans with the same API Stage: %s:%s (it is in usage plan %s)",
		e.PlanID, e.KeyID, e.APIID, e.Stage, e.OtherPlanID)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// As lets errors.As(err, &storeErr) see a Conflict *Error.
func (e *ConflictError) As(target any) bool {
	if t, ok := target.(**Error); ok {
		*t = &Error{Kind: Conflict, Message: e.Error()}
		return true
	}
	return false
}

// KindOf is the kind of a store error, 0 for anything else.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
