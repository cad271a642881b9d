// SPDX-License-Identifier: Apache-2.0
/* The DICOM data dictionary of slide2dcm: keyword, tag and VR of every attribute the code
 * writes or reads, kept in one list (S2D_DICT below) in tag order. Code names an attribute
 * by its keyword (S2D_KW_PatientName), so a misspelt keyword does not compile; text that
 * names attributes (a DICOM JSON file, a manifest column) looks them up by tag or keyword.
 * tests/unit/check_dict.py checks every row against pydicom's dictionary. An attribute with
 * more than one VR in PS3.6 is listed with the one slide2dcm writes. */
#ifndef S2D_DICT_H
#define S2D_DICT_H

#include <stddef.h>
#include <stdint.h>

#include "dicom/ds.h"

// ROW(keyword, group, element, VR), sorted by tag.
#define S2D_DICT(ROW)                                                        \
    ROW(CommandGroupLength, 0x0000, 0x0000, UL)                              \
    ROW(AffectedSOPClassUID, 0x0000, 0x0002, UI)                             \
    ROW(CommandField, 0x0000, 0x0100, US)                                    \
    ROW(MessageID, 0x0000, 0x0110, US)                                       \
    ROW(MessageIDBeingRespondedTo, 0x0000, 0x0120, US)                       \
    ROW(Priority, 0x0000, 0x0700, US)                                        \
    ROW(CommandDataSetType, 0x0000, 0x0800, US)                              \
    ROW(Status, 0x0000, 0x0900, US)                                          \
    ROW(ErrorComment, 0x0000, 0x0902, LO)                                    \
    ROW(AffectedSOPInstanceUID, 0x0000, 0x1000, UI)                          \
    ROW(FileMetaInformationGroupLength, 0x0002, 0x0000, UL)                  \
    ROW(FileMetaInformationVersion, 0x0002, 0x0001, OB)                      \
    ROW(MediaStorageSOPClassUID, 0x0002, 0x0002, UI)                         \
    ROW(MediaStorageSOPInstanceUID, 0x0002, 0x0003, UI)                      \
    ROW(TransferSyntaxUID, 0x0002, 0x0010, UI)                               \
    ROW(ImplementationClassUID, 0x0002, 0x0012, UI)                          \
    ROW(ImplementationVersionName, 0x0002, 0x0013, SH)                       \
    ROW(FileSetID, 0x0004, 0x1130, CS)                                       \
    ROW(OffsetOfTheFirstDirectoryRecordOfTheRootDirectoryEntity, 0x0004, 0x1200, UL)\
    ROW(OffsetOfTheLastDirectoryRecordOfTheRootDirectoryEntity, 0x0004, 0x1202, UL)\
    ROW(FileSetConsistencyFlag, 0x0004, 0x1212, US)                          \
    ROW(DirectoryRecordSequence, 0x0004, 0x1220, SQ)                         \
    ROW(OffsetOfTheNextDirectoryRecord, 0x0004, 0x1400, UL)                  \
    ROW(RecordInUseFlag, 0x0004, 0x1410, US)                                 \
    ROW(OffsetOfReferencedLowerLevelDirectoryEntity, 0x0004, 0x1420, UL)     \
    ROW(DirectoryRecordType, 0x0004, 0x1430, CS)                             \
    ROW(ReferencedFileID, 0x0004, 0x1500, CS)                                \
    ROW(ReferencedSOPClassUIDInFile, 0x0004, 0x1510, UI)                     \
    ROW(ReferencedSOPInstanceUIDInFile, 0x0004, 0x1511, UI)                  \
    ROW(ReferencedTransferSyntaxUIDInFile, 0x0004, 0x1512, UI)               \
    ROW(SpecificCharacterSet, 0x0008, 0x0005, CS)                            \
    ROW(ImageType, 0x0008, 0x0008, CS)                                       \
    ROW(SOPClassUID, 0x0008, 0x0016, UI)                                     \
    ROW(AcquisitionUID, 0x0008, 0x0017, UI)                                  \
    ROW(SOPInstanceUID, 0x0008, 0x0018, UI)                                  \
    ROW(PyramidUID, 0x0008, 0x0019, UI)                                      \
    ROW(StudyDate, 0x0008, 0x0020, DA)                                       \
    ROW(ContentDate, 0x0008, 0x0023, DA)                                     \
    ROW(AcquisitionDateTime, 0x0008, 0x002A, DT)                             \
    ROW(StudyTime, 0x0008, 0x0030, TM)                                       \
    ROW(ContentTime, 0x0008, 0x0033, TM)                                     \
    ROW(AccessionNumber, 0x0008, 0x0050, SH)                                 \
    ROW(Modality, 0x0008, 0x0060, CS)                                        \
    ROW(ConversionType, 0x0008, 0x0064, CS)                                  \
    ROW(Manufacturer, 0x0008, 0x0070, LO)                                    \
    ROW(InstitutionName, 0x0008, 0x0080, LO)                                 \
    ROW(ReferringPhysicianName, 0x0008, 0x0090, PN)                          \
    ROW(CodeValue, 0x0008, 0x0100, SH)                                       \
    ROW(CodingSchemeDesignator, 0x0008, 0x0102, SH)                          \
    ROW(CodeMeaning, 0x0008, 0x0104, LO)                                     \
    ROW(StudyDescription, 0x0008, 0x1030, LO)                                \
    ROW(SeriesDescription, 0x0008, 0x103E, LO)                               \
    ROW(InstitutionalDepartmentName, 0x0008, 0x1040, LO)                     \
    ROW(ManufacturerModelName, 0x0008, 0x1090, LO)                           \
    ROW(DerivationDescription, 0x0008, 0x2111, ST)                           \
    ROW(FrameType, 0x0008, 0x9007, CS)                                       \
    ROW(VolumetricProperties, 0x0008, 0x9206, CS)                            \
    ROW(PatientName, 0x0010, 0x0010, PN)                                     \
    ROW(PatientID, 0x0010, 0x0020, LO)                                       \
    ROW(IssuerOfPatientID, 0x0010, 0x0021, LO)                               \
    ROW(PatientBirthDate, 0x0010, 0x0030, DA)                                \
    ROW(PatientSex, 0x0010, 0x0040, CS)                                      \
    ROW(ClinicalTrialSponsorName, 0x0012, 0x0010, LO)                        \
    ROW(ClinicalTrialProtocolID, 0x0012, 0x0020, LO)                         \
    ROW(ClinicalTrialSiteID, 0x0012, 0x0030, LO)                             \
    ROW(ClinicalTrialSubjectID, 0x0012, 0x0040, LO)                          \
    ROW(PatientIdentityRemoved, 0x0012, 0x0062, CS)                          \
    ROW(DeidentificationMethod, 0x0012, 0x0063, LO)                          \
    ROW(DeidentificationMethodCodeSequence, 0x0012, 0x0064, SQ)              \
    ROW(BodyPartExamined, 0x0018, 0x0015, CS)                                \
    ROW(SliceThickness, 0x0018, 0x0050, DS)                                  \
    ROW(SpacingBetweenSlices, 0x0018, 0x0088, DS)                            \
    ROW(DeviceSerialNumber, 0x0018, 0x1000, LO)                              \
    ROW(DateOfSecondaryCapture, 0x0018, 0x1012, DA)                          \
    ROW(TimeOfSecondaryCapture, 0x0018, 0x1014, TM)                          \
    ROW(SecondaryCaptureDeviceManufacturer, 0x0018, 0x1016, LO)              \
    ROW(SecondaryCaptureDeviceManufacturerModelName, 0x0018, 0x1018, LO)     \
    ROW(SecondaryCaptureDeviceSoftwareVersions, 0x0018, 0x1019, LO)          \
    ROW(SoftwareVersions, 0x0018, 0x1020, LO)                                \
    ROW(PageNumberVector, 0x0018, 0x2001, IS)                                \
    ROW(NominalScannedPixelSpacing, 0x0018, 0x2010, DS)                      \
    ROW(ContributingEquipmentSequence, 0x0018, 0xA001, SQ)                   \
    ROW(ContributionDateTime, 0x0018, 0xA002, DT)                            \
    ROW(ContributionDescription, 0x0018, 0xA003, ST)                         \
    ROW(StudyInstanceUID, 0x0020, 0x000D, UI)                                \
    ROW(SeriesInstanceUID, 0x0020, 0x000E, UI)                               \
    ROW(StudyID, 0x0020, 0x0010, SH)                                         \
    ROW(SeriesNumber, 0x0020, 0x0011, IS)                                    \
    ROW(InstanceNumber, 0x0020, 0x0013, IS)                                  \
    ROW(PatientOrientation, 0x0020, 0x0020, CS)                              \
    ROW(PyramidLabel, 0x0020, 0x0027, LO)                                    \
    ROW(FrameOfReferenceUID, 0x0020, 0x0052, UI)                             \
    ROW(Laterality, 0x0020, 0x0060, CS)                                      \
    ROW(SOPInstanceUIDOfConcatenationSource, 0x0020, 0x0242, UI)             \
    ROW(PositionReferenceIndicator, 0x0020, 0x1040, LO)                      \
    ROW(ImageComments, 0x0020, 0x4000, LT)                                   \
    ROW(ConcatenationUID, 0x0020, 0x9161, UI)                                \
    ROW(InConcatenationNumber, 0x0020, 0x9162, US)                           \
    ROW(InConcatenationTotalNumber, 0x0020, 0x9163, US)                      \
    ROW(DimensionOrganizationUID, 0x0020, 0x9164, UI)                        \
    ROW(DimensionOrganizationSequence, 0x0020, 0x9221, SQ)                   \
    ROW(ConcatenationFrameOffsetNumber, 0x0020, 0x9228, UL)                  \
    ROW(DimensionOrganizationType, 0x0020, 0x9311, CS)                       \
    ROW(ImagePathFilterPassThroughWavelength, 0x0022, 0x0003, US)            \
    ROW(IlluminationTypeCodeSequence, 0x0022, 0x0016, SQ)                    \
    ROW(IlluminationWaveLength, 0x0022, 0x0055, FL)                          \
    ROW(SamplesPerPixel, 0x0028, 0x0002, US)                                 \
    ROW(PhotometricInterpretation, 0x0028, 0x0004, CS)                       \
    ROW(PlanarConfiguration, 0x0028, 0x0006, US)                             \
    ROW(NumberOfFrames, 0x0028, 0x0008, IS)                                  \
    ROW(FrameIncrementPointer, 0x0028, 0x0009, AT)                           \
    ROW(Rows, 0x0028, 0x0010, US)                                            \
    ROW(Columns, 0x0028, 0x0011, US)                                         \
    ROW(PixelSpacing, 0x0028, 0x0030, DS)                                    \
    ROW(BitsAllocated, 0x0028, 0x0100, US)                                   \
    ROW(BitsStored, 0x0028, 0x0101, US)                                      \
    ROW(HighBit, 0x0028, 0x0102, US)                                         \
    ROW(PixelRepresentation, 0x0028, 0x0103, US)                             \
    ROW(BurnedInAnnotation, 0x0028, 0x0301, CS)                              \
    ROW(LongitudinalTemporalInformationModified, 0x0028, 0x0303, CS)         \
    ROW(WindowCenter, 0x0028, 0x1050, DS)                                    \
    ROW(WindowWidth, 0x0028, 0x1051, DS)                                     \
    ROW(RescaleIntercept, 0x0028, 0x1052, DS)                                \
    ROW(RescaleSlope, 0x0028, 0x1053, DS)                                    \
    ROW(RescaleType, 0x0028, 0x1054, LO)                                     \
    ROW(WindowCenterWidthExplanation, 0x0028, 0x1055, LO)                    \
    ROW(RedPaletteColorLookupTableDescriptor, 0x0028, 0x1101, US)            \
    ROW(GreenPaletteColorLookupTableDescriptor, 0x0028, 0x1102, US)          \
    ROW(BluePaletteColorLookupTableDescriptor, 0x0028, 0x1103, US)           \
    ROW(RedPaletteColorLookupTableData, 0x0028, 0x1201, OW)                  \
    ROW(GreenPaletteColorLookupTableData, 0x0028, 0x1202, OW)                \
    ROW(BluePaletteColorLookupTableData, 0x0028, 0x1203, OW)                 \
    ROW(ICCProfile, 0x0028, 0x2000, OB)                                      \
    ROW(ColorSpace, 0x0028, 0x2002, CS)                                      \
    ROW(LossyImageCompression, 0x0028, 0x2110, CS)                           \
    ROW(LossyImageCompressionRatio, 0x0028, 0x2112, DS)                      \
    ROW(LossyImageCompressionMethod, 0x0028, 0x2114, CS)                     \
    ROW(LUTExplanation, 0x0028, 0x3003, LO)                                  \
    ROW(PixelMeasuresSequence, 0x0028, 0x9110, SQ)                           \
    ROW(ContainerIdentifier, 0x0040, 0x0512, LO)                             \
    ROW(IssuerOfTheContainerIdentifierSequence, 0x0040, 0x0513, SQ)          \
    ROW(ContainerTypeCodeSequence, 0x0040, 0x0518, SQ)                       \
    ROW(SpecimenIdentifier, 0x0040, 0x0551, LO)                              \
    ROW(SpecimenUID, 0x0040, 0x0554, UI)                                     \
    ROW(AcquisitionContextSequence, 0x0040, 0x0555, SQ)                      \
    ROW(SpecimenDescriptionSequence, 0x0040, 0x0560, SQ)                     \
    ROW(IssuerOfTheSpecimenIdentifierSequence, 0x0040, 0x0562, SQ)           \
    ROW(SpecimenPreparationSequence, 0x0040, 0x0610, SQ)                     \
    ROW(SpecimenPreparationStepContentItemSequence, 0x0040, 0x0612, SQ)      \
    ROW(WholeSlideMicroscopyImageFrameTypeSequence, 0x0040, 0x0710, SQ)      \
    ROW(XOffsetInSlideCoordinateSystem, 0x0040, 0x072A, DS)                  \
    ROW(YOffsetInSlideCoordinateSystem, 0x0040, 0x073A, DS)                  \
    ROW(ZOffsetInSlideCoordinateSystem, 0x0040, 0x074A, DS)                  \
    ROW(MeasurementUnitsCodeSequence, 0x0040, 0x08EA, SQ)                    \
    ROW(RealWorldValueMappingSequence, 0x0040, 0x9096, SQ)                   \
    ROW(LUTLabel, 0x0040, 0x9210, SH)                                        \
    ROW(RealWorldValueLastValueMapped, 0x0040, 0x9211, US)                   \
    ROW(RealWorldValueFirstValueMapped, 0x0040, 0x9216, US)                  \
    ROW(RealWorldValueIntercept, 0x0040, 0x9224, FD)                         \
    ROW(RealWorldValueSlope, 0x0040, 0x9225, FD)                             \
    ROW(ValueType, 0x0040, 0xA040, CS)                                       \
    ROW(ConceptNameCodeSequence, 0x0040, 0xA043, SQ)                         \
    ROW(TextValue, 0x0040, 0xA160, UT)                                       \
    ROW(ConceptCodeSequence, 0x0040, 0xA168, SQ)                             \
    ROW(PurposeOfReferenceCodeSequence, 0x0040, 0xA170, SQ)                  \
    ROW(DocumentTitle, 0x0042, 0x0010, ST)                                   \
    ROW(EncapsulatedDocument, 0x0042, 0x0011, OB)                            \
    ROW(MIMETypeOfEncapsulatedDocument, 0x0042, 0x0012, LO)                  \
    ROW(EncapsulatedDocumentLength, 0x0042, 0x0015, UL)                      \
    ROW(ImagedVolumeWidth, 0x0048, 0x0001, FL)                               \
    ROW(ImagedVolumeHeight, 0x0048, 0x0002, FL)                              \
    ROW(ImagedVolumeDepth, 0x0048, 0x0003, FL)                               \
    ROW(TotalPixelMatrixColumns, 0x0048, 0x0006, UL)                         \
    ROW(TotalPixelMatrixRows, 0x0048, 0x0007, UL)                            \
    ROW(TotalPixelMatrixOriginSequence, 0x0048, 0x0008, SQ)                  \
    ROW(SpecimenLabelInImage, 0x0048, 0x0010, CS)                            \
    ROW(FocusMethod, 0x0048, 0x0011, CS)                                     \
    ROW(ExtendedDepthOfField, 0x0048, 0x0012, CS)                            \
    ROW(RecommendedAbsentPixelCIELabValue, 0x0048, 0x0015, US)               \
    ROW(ImageOrientationSlide, 0x0048, 0x0102, DS)                           \
    ROW(OpticalPathSequence, 0x0048, 0x0105, SQ)                             \
    ROW(OpticalPathIdentifier, 0x0048, 0x0106, SH)                           \
    ROW(OpticalPathDescription, 0x0048, 0x0107, ST)                          \
    ROW(IlluminationColorCodeSequence, 0x0048, 0x0108, SQ)                   \
    ROW(ObjectiveLensPower, 0x0048, 0x0112, DS)                              \
    ROW(PaletteColorLookupTableSequence, 0x0048, 0x0120, SQ)                 \
    ROW(OpticalPathIdentificationSequence, 0x0048, 0x0207, SQ)               \
    ROW(NumberOfOpticalPaths, 0x0048, 0x0302, UL)                            \
    ROW(TotalPixelMatrixFocalPlanes, 0x0048, 0x0303, UL)                     \
    ROW(PresentationLUTShape, 0x2050, 0x0020, CS)                            \
    ROW(LabelText, 0x2200, 0x0002, UT)                                       \
    ROW(BarcodeValue, 0x2200, 0x0005, LT)                                    \
    ROW(SharedFunctionalGroupsSequence, 0x5200, 0x9229, SQ)                  \
    ROW(PerFrameFunctionalGroupsSequence, 0x5200, 0x9230, SQ)                \
    ROW(ExtendedOffsetTable, 0x7FE0, 0x0001, OV)                             \
    ROW(ExtendedOffsetTableLengths, 0x7FE0, 0x0002, OV)                      \
    ROW(PixelData, 0x7FE0, 0x0010, OB)

/** An attribute, named by its keyword: S2D_KW_PatientName and so on. */
typedef enum s2d_kw {
#define S2D_DICT_ENUM(keyword, group, element, vr) S2D_KW_##keyword,
    S2D_DICT(S2D_DICT_ENUM)
#undef S2D_DICT_ENUM
    S2D_KW_COUNT
} s2d_kw;

typedef struct s2d_dict_entry {
    const char *keyword;
    uint32_t tag;
    char vr[3];
} s2d_dict_entry;

/** The entry of kw (a static row: never NULL, never freed). */
const s2d_dict_entry *s2d_dict_entry_of(s2d_kw kw);

/** The entry with this keyword or tag (a static row, never freed), or NULL when
 *  slide2dcm's dictionary lacks it. */
const s2d_dict_entry *s2d_dict_find_keyword(const char *keyword);
const s2d_dict_entry *s2d_dict_find_tag(uint32_t tag);

/* The dataset calls of ds.h, with the tag and VR taken from the dictionary. */
bool s2d_has(const s2d_ds *ds, s2d_kw kw);
bool s2d_put_str(s2d_ds *ds, s2d_kw kw, const char *value, s2d_error *err);
bool s2d_put_number(s2d_ds *ds, s2d_kw kw, double value, s2d_error *err);
bool s2d_put_numbers(s2d_ds *ds, s2d_kw kw, const double *values, size_t n, s2d_error *err);
bool s2d_put_bytes(s2d_ds *ds, s2d_kw kw, const void *data, size_t len, s2d_error *err);
bool s2d_put_empty_seq(s2d_ds *ds, s2d_kw kw, s2d_error *err);
/** Appends an item to sequence kw; the item belongs to ds. @return it, or NULL (err set). */
s2d_ds *s2d_put_item(s2d_ds *ds, s2d_kw kw, s2d_error *err);

#endif
